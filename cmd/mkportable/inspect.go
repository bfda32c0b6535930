package main

import (
	"errors"
	"io"
)

// runInspect is a placeholder until the inspect command lands.
func runInspect(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
