package main

import (
	"errors"
	"io"
)

// runBuild is a placeholder until the build command lands.
func runBuild(args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
