package server

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// requestCounter counts answered requests by route and status, for
// /metrics.
type requestCounter struct {
	mu     sync.Mutex // guards counts
	counts map[[2]string]int64
}

// count wraps a handler to count its answers by pattern and status.
func (c *requestCounter) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := rec.status
		if status == 0 {
			status = statusClientClosed
		}
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[[2]string]int64{}
		}
		c.counts[[2]string{route, strconv.Itoa(status)}]++
		c.mu.Unlock()
	})
}

// metricsWriter writes Prometheus' text exposition format.
type metricsWriter struct {
	b    strings.Builder
	seen map[string]bool
}

func (m *metricsWriter) metric(name, typ, help string, value float64, labels ...string) {
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if !m.seen[name] {
		m.seen[name] = true
		fmt.Fprintf(&m.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	m.b.WriteString(name)
	if len(labels) > 0 {
		m.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				m.b.WriteByte(',')
			}
			fmt.Fprintf(&m.b, "%s=%q", labels[i], labels[i+1])
		}
		m.b.WriteByte('}')
	}
	fmt.Fprintf(&m.b, " %s\n", strconv.FormatFloat(value, 'g', -1, 64))
}

// metrics is GET /metrics: request counts, loaded models, and per model
// the batcher's and generator's counters.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	var m metricsWriter
	s.requests.mu.Lock()
	keys := make([][2]string, 0, len(s.requests.counts))
	for k := range s.requests.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		m.metric("runner_http_requests_total", "counter", "HTTP requests answered, by route and status.", float64(s.requests.counts[k]), "route", k[0], "status", k[1])
	}
	s.requests.mu.Unlock()

	loaded := s.cfg.Models.sched.Loaded()
	m.metric("runner_models_loaded", "gauge", "Models loaded in memory.", float64(len(loaded)))
	for _, st := range loaded {
		name := st.Name
		m.metric("runner_model_size_bytes", "gauge", "Size of a loaded model's files.", float64(st.Size), "model", name)
		m.metric("runner_model_requests_in_flight", "gauge", "Requests using a loaded model.", float64(st.InUse), "model", name)
		lm := st.Model.(*loadedModel)
		if b, ok := lm.BatchStats(); ok {
			m.metric("runner_batches_total", "counter", "Batches run by the encoder batcher.", float64(b.Batches), "model", name)
			m.metric("runner_batch_sequences_total", "counter", "Sequences run in batches.", float64(b.Sequences), "model", name)
			m.metric("runner_batch_tokens_total", "counter", "Real tokens run in batches.", float64(b.Tokens), "model", name)
			m.metric("runner_batch_padded_tokens_total", "counter", "Tokens run in batches, padding included.", float64(b.PaddedTokens), "model", name)
			m.metric("runner_batch_run_seconds_total", "counter", "Time spent running batches.", b.RunTime.Seconds(), "model", name)
			m.metric("runner_requests_rejected_total", "counter", "Requests refused because the queue was full.", float64(b.Rejected), "model", name)
		}
		if g, ok := lm.GenerateStats(); ok {
			m.metric("runner_generated_tokens_total", "counter", "Tokens generated.", float64(g.Tokens), "model", name)
			m.metric("runner_prompt_tokens_total", "counter", "Prompt tokens prefilled.", float64(g.PromptTokens), "model", name)
			m.metric("runner_decode_steps_total", "counter", "Batched decode steps run.", float64(g.Steps), "model", name)
			m.metric("runner_context_shifts_total", "counter", "Full contexts shifted to go on generating.", float64(g.Shifts), "model", name)
			m.metric("runner_generating_sequences", "gauge", "Sequences being generated or waiting.", float64(g.Queued), "model", name)
		}
		m.metric("runner_queue_depth", "gauge", "Requests waiting or running on a model.", float64(lm.Queued()), "model", name)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, err := w.Write([]byte(m.b.String()))
	return err
}
