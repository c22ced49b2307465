package main

import (
	"context"
	"errors"
	"time"
)

type input struct {
	Fail bool   `json:"fail"`
	Name string `json:"name"`
}

type output struct {
	Greeting    string `json:"greeting"`
	HasDeadline bool   `json:"hasDeadline"`
}

// Main takes a context and a struct and returns a struct and an error.
func Main(ctx context.Context, in input) (*output, error) {
	if in.Fail {
		return nil, errors.New("failed on purpose")
	}
	d, ok := ctx.Deadline()
	return &output{Greeting: "Hi " + in.Name, HasDeadline: ok && d.After(time.Now())}, nil
}
