package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPanicIsRecovered(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	calls := 0
	h := recoverPanics(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i, want := range []int{http.StatusInternalServerError, http.StatusNoContent} {
		resp, err := http.Get(srv.URL + "/api/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
}

func TestLocalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:11434": true, "127.0.0.1:11434": true, "[::1]:80": true, "app.localhost": true,
		"": true, "evil.example": false, "10.0.0.1:11434": false, "localhost.evil.example": false,
	} {
		if got := localHost(host); got != want {
			t.Errorf("localHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	allowed := []string{"http://localhost:*", "https://app.example", "chrome-extension://*"}
	for origin, want := range map[string]bool{
		"http://localhost:3000": true, "http://localhost:3000.evil.example": false, "https://app.example": true,
		"https://app.example.evil": false, "chrome-extension://abc": true, "http://evil.example": false,
	} {
		if got := originAllowed(origin, allowed); got != want {
			t.Errorf("originAllowed(%q) = %v, want %v", origin, got, want)
		}
	}
}
