package loopback

import (
	"io"
	"net/http"
	"testing"
)

func TestServerServesItsHandlerOnLoopback(t *testing.T) {
	s, err := NewUnstarted(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	s.Start()
	s.Start() // idempotent
	resp, err := http.Get(s.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("body %q", b)
	}
	s.Close()
	if _, err := http.Get(s.URL + "/x"); err == nil {
		t.Fatal("a closed server still answers")
	}
	u, _ := NewUnstarted(nil)
	u.Close() // closing a server that never started releases its port
}
