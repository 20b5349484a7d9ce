package app

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/deploybot/deploybot/internal/loopback"
)

// errorRateAPI is a metrics endpoint a `web` metric reads with json_path
// data.error_rate: it answers the rates in order, then the last one again.
// It returns the endpoint's URL.
func errorRateAPI(t *testing.T, rates ...string) string {
	t.Helper()
	var asked atomic.Int32
	api, err := loopback.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":{"error_rate":%s}}`, rates[min(int(asked.Add(1))-1, len(rates)-1)])
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api.URL + "/rate"
}
