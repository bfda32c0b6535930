package main

import (
	"errors"
	"io"
)

// runPack is a placeholder until the pack command lands.
func runPack(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
