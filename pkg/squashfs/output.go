package squashfs

import (
	"fmt"
	"io"
)

// imageOutput is a buffered writer over the image's io.WriteSeeker that can
// roll its position back: when a file turns out to duplicate an earlier one,
// its freshly written blocks are dropped by moving the position back to where
// they started (inside the buffer when they are still there, with a seek
// otherwise). Offsets are relative to the image start, which is where w was
// positioned when the Writer was created.
type imageOutput struct {
	w        io.WriteSeeker
	base     int64 // offset of the image start in w
	buf      []byte
	bufStart int64 // image offset of buf[0]
	extent   int64 // highest image offset ever written to w
}

const outputBufferSize = 1 << 20

func newImageOutput(w io.WriteSeeker) (*imageOutput, error) {
	base, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("squashfs: finding the output position: %w", err)
	}
	return &imageOutput{w: w, base: base, buf: make([]byte, 0, outputBufferSize)}, nil
}

// pos is the image offset of the next byte.
func (o *imageOutput) pos() int64 { return o.bufStart + int64(len(o.buf)) }

func (o *imageOutput) Write(p []byte) (int, error) {
	large := len(p) >= cap(o.buf)/2
	if large || len(o.buf)+len(p) > cap(o.buf) {
		if err := o.flush(); err != nil {
			return 0, err
		}
	}
	if large {
		// Large blocks go straight through (after what is buffered):
		// copying them into the buffer first would only cost time.
		n, err := o.w.Write(p)
		o.bufStart += int64(n)
		o.extent = max(o.extent, o.bufStart)
		if err != nil {
			return n, fmt.Errorf("squashfs: writing image at offset %d: %w", o.bufStart, err)
		}
		return n, nil
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

func (o *imageOutput) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	n, err := o.w.Write(o.buf)
	o.bufStart += int64(n)
	o.extent = max(o.extent, o.bufStart)
	if err == nil && n < len(o.buf) {
		err = io.ErrShortWrite
	}
	o.buf = o.buf[:0]
	if err != nil {
		return fmt.Errorf("squashfs: writing image at offset %d: %w", o.bufStart, err)
	}
	return nil
}

// rollback moves the position back to off (<= pos); later writes overwrite
// what was there.
func (o *imageOutput) rollback(off int64) error {
	if off >= o.bufStart {
		o.buf = o.buf[:off-o.bufStart]
		return nil
	}
	if err := o.flush(); err != nil {
		return err
	}
	if _, err := o.w.Seek(o.base+off, io.SeekStart); err != nil {
		return fmt.Errorf("squashfs: seeking back to offset %d: %w", off, err)
	}
	o.bufStart = off
	return nil
}

// truncater is implemented by *os.File and internal/outfile.File.
type truncater interface{ Truncate(size int64) error }

// finish flushes everything, cuts off bytes beyond end that earlier, rolled
// back writes left in w (with Truncate when w has it, else by overwriting
// them with zeros so no stale data remains), writes head at the image start
// and leaves w positioned at end.
func (o *imageOutput) finish(end int64, head []byte) error {
	if err := o.flush(); err != nil {
		return err
	}
	if o.extent > end {
		if t, ok := o.w.(truncater); ok {
			if err := t.Truncate(o.base + end); err != nil {
				return fmt.Errorf("squashfs: truncating image to %d bytes: %w", end, err)
			}
			o.extent = end
		} else {
			zero := make([]byte, min(o.extent-end, 1<<16))
			for o.bufStart < o.extent {
				k := min(int64(len(zero)), o.extent-o.bufStart)
				if _, err := o.Write(zero[:k]); err != nil {
					return err
				}
				if err := o.flush(); err != nil {
					return err
				}
			}
		}
	}
	if _, err := o.w.Seek(o.base, io.SeekStart); err != nil {
		return fmt.Errorf("squashfs: seeking to the superblock: %w", err)
	}
	if _, err := o.w.Write(head); err != nil {
		return fmt.Errorf("squashfs: writing superblock: %w", err)
	}
	if _, err := o.w.Seek(o.base+max(end, o.extent), io.SeekStart); err != nil {
		return fmt.Errorf("squashfs: seeking to the image end: %w", err)
	}
	return nil
}
