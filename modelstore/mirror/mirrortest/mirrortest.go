// Package mirrortest starts a Hub mirror on loopback for tests of any
// package that pulls models.
package mirrortest

import (
	"net/http/httptest"
	"testing"

	"runner/modelstore/mirror"
)

// Start serves dir (repositories as DIR/ORG/NAME, or a hub cache) over the
// Hub protocol on 127.0.0.1 until the test ends, and returns its base URL,
// to use as HF_ENDPOINT or modelstore.Options.Endpoint.
func Start(t testing.TB, dir string) string {
	t.Helper()
	srv := httptest.NewServer(mirror.New(mirror.Options{Dir: dir}))
	t.Cleanup(srv.Close)
	return srv.URL
}
