package store

import (
	"errors"
	"strings"
	"time"
)

func splitStatements(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func replaceAll(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
