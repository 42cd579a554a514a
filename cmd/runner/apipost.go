package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ollama/ollama/api"
)

// post sends req as JSON to one of runner's own routes (those ollama's
// client lacks, such as /api/rerank) and decodes a 200 answer into resp.
// An error answer becomes an api.StatusError with the server's message.
func (c *connection) post(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s answered %s", path, res.Status)
		}
		return api.StatusError{StatusCode: res.StatusCode, ErrorMessage: e.Error}
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("%s: read the answer: %w", path, err)
	}
	return nil
}
