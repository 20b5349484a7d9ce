// Package verify measures a deployed version: metric providers (a
// Prometheus server through client_golang's API client, any JSON endpoint)
// and the pure rules that judge a measurement against its condition.
package verify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/tidwall/gjson"

	"github.com/deploybot/deploybot/config"
	"github.com/deploybot/deploybot/internal/egress"
)

// ErrNoData means the query answered but had no value (an empty vector, a
// missing JSON path): on_no_data decides.
var ErrNoData = errors.New("no data")

// Limits of one measurement.
const (
	queryTimeout = 15 * time.Second
	queryMaxBody = 4 << 20
)

// Measurer takes one measurement of a query at a time (time.Time{}: now).
type Measurer interface {
	Measure(ctx context.Context, q config.MetricQuery, at time.Time) (float64, error)
}

// Providers measures PromQL queries on the configured Prometheus and web
// queries on their endpoints, all through the guarded client.
type Providers struct {
	HTTP       egress.Doer
	Prometheus string // the server's base URL
}

// Measure implements Measurer.
func (p Providers) Measure(ctx context.Context, q config.MetricQuery, at time.Time) (float64, error) {
	if q.Web != nil {
		if !at.IsZero() {
			return 0, errors.New("a web metric has no past values: baselines need a PromQL query")
		}
		return p.web(ctx, q.Web)
	}
	return p.prometheus(ctx, q.Query, at)
}

func (p Providers) prometheus(ctx context.Context, query string, at time.Time) (float64, error) {
	client, err := api.NewClient(api.Config{Address: p.Prometheus, RoundTripper: egress.RoundTripper(p.HTTP, queryTimeout, queryMaxBody)})
	if err != nil {
		return 0, fmt.Errorf("prometheus client: %w", err)
	}
	if at.IsZero() {
		at = time.Now()
	}
	v, _, _, err := promv1.NewAPI(client).Query(ctx, query, at, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	return single(v)
}

// single reads the one number a query must produce.
func single(v model.Value) (float64, error) {
	switch v := v.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, ErrNoData
		case 1:
			return float64(v[0].Value), nil
		}
		return 0, fmt.Errorf("the query returned %d series: aggregate them to one (sum(...), max(...))", len(v))
	}
	return 0, fmt.Errorf("the query returned a %s: use an instant query with one value", v.Type())
}

func (p Providers) web(ctx context.Context, w *config.WebMetric) (float64, error) {
	resp, err := p.HTTP.Do(ctx, egress.Call{URL: w.URL, Timeout: queryTimeout, MaxBody: queryMaxBody,
		Header: map[string][]string{"Accept": {"application/json"}, "User-Agent": {"deploybot-verify"}}})
	if err != nil {
		return 0, err
	}
	if resp.Status != 200 {
		return 0, fmt.Errorf("HTTP %d", resp.Status)
	}
	if !gjson.ValidBytes(resp.Body) {
		return 0, errors.New("the answer is not JSON")
	}
	r := gjson.GetBytes(resp.Body, w.JSONPath)
	switch {
	case !r.Exists() || r.Type == gjson.Null:
		return 0, ErrNoData
	case r.Type == gjson.Number:
		return r.Num, nil
	case r.Type == gjson.String:
		if f, err := strconv.ParseFloat(r.Str, 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%s is not a number", w.JSONPath)
}

// Describe says what went wrong with a measurement in words safe for a
// record: the kind of failure, never what a server answered.
func Describe(err error) string {
	var pe *promv1.Error
	var refused *egress.Refused
	switch {
	case errors.Is(err, ErrNoData):
		return "no data"
	case errors.As(err, &pe):
		return "prometheus answered " + string(pe.Type)
	case errors.As(err, &refused):
		return "not called: " + refused.Reason
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "query failed"
}
