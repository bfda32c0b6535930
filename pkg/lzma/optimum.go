package lzma

// optimizer holds the near-optimal parser's state.
type optimizer struct {
	greedy bool
	steps  []step
	next_  int
}

func (o *optimizer) init() {
	o.steps = make([]step, 0, 4096)
}

func (o *optimizer) reset() {
	o.steps = o.steps[:0]
	o.next_ = 0
}

func (o *optimizer) next(e *Encoder, pos int) step {
	return e.greedyStep(pos)
}
