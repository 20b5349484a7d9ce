package egress

import (
	"net/url"
)

// RefusalKind says why a call was refused.
type RefusalKind int

const (
	RefusedAddress   RefusalKind = iota + 1 // a non-public address the operator has not allowed
	RefusedURL                              // not an absolute http(s) URL
	RefusedRedirects                        // too many redirects
	RefusedBody                             // the answer is larger than the caller's cap
)

// Refused is a call deploybot would not make or finish. Its message names
// the host, never the URL's path, query or user info, nor the address a
// name resolved to.
type Refused struct {
	Kind   RefusalKind
	Host   string
	Reason string
}

func (e *Refused) Error() string { return e.Reason }

// Redact drops the user info, query and fragment of a URL, which may hold
// credentials; "?…" marks that something was dropped.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	hidden := u.User != nil || u.RawQuery != "" || u.Fragment != ""
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	if hidden {
		return u.String() + "?…"
	}
	return u.String()
}
