package handlers

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnhandleable marks a delivery that no retry can ever handle: its
// payload does not decode as the event it claims to be, or it lacks a field
// the handler needs. The delivery worker cancels such jobs at once instead of
// retrying them (errors.Is(err, ErrUnhandleable)).
var ErrUnhandleable = errors.New("unhandleable payload")

// decodeError wraps a payload decode failure.
func decodeError(event string, err error) error {
	return fmt.Errorf("decode %s: %w: %w", event, ErrUnhandleable, err)
}

// field is one required part of a payload and whether the payload has it.
type field struct {
	name    string
	present bool
}

// require returns an ErrUnhandleable naming the missing fields, or nil.
func require(event string, fields ...field) error {
	var missing []string
	for _, f := range fields {
		if !f.present {
			missing = append(missing, f.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s payload without %s: %w", event, strings.Join(missing, ", "), ErrUnhandleable)
}
