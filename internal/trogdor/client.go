package trogdor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks to a Trogdor coordinator's REST API (CoordinatorRestResource:
// /coordinator/status, /coordinator/task/create, /coordinator/tasks/{id},
// DELETE /coordinator/tasks?taskId=) and reads agents' /agent/status.
type Client struct {
	URL  string // the coordinator, http://host:port
	HTTP *http.Client
}

// NewClient returns a client of the coordinator at url.
func NewClient(url string) *Client {
	return &Client{URL: strings.TrimRight(url, "/"), HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// TaskState is a task as the coordinator reports it (PENDING, RUNNING,
// STOPPING, DONE), or one worker as its agent does (STARTING, RUNNING,
// STOPPING, DONE; its TaskID, times on the agent's clock).
type TaskState struct {
	State     string          `json:"state"`
	TaskID    string          `json:"taskId"`
	StartedMs int64           `json:"startedMs"`
	DoneMs    int64           `json:"doneMs"`
	Error     string          `json:"error"`
	Cancelled bool            `json:"cancelled"`
	Status    json.RawMessage `json:"status"`
}

// CreateTask posts spec under id. Trogdor accepts any well-formed spec
// here; a task it cannot run (an unknown node, a bad bootstrap) ends DONE
// with an error, which Wait returns.
func (c *Client) CreateTask(ctx context.Context, id string, spec any) error {
	return do(ctx, c.HTTP, http.MethodPost, c.URL+"/coordinator/task/create", map[string]any{"id": id, "spec": spec}, nil)
}

// DestroyTask forgets task id on the coordinator and its agents (stopping
// it first if it runs).
func (c *Client) DestroyTask(ctx context.Context, id string) error {
	return do(ctx, c.HTTP, http.MethodDelete, c.URL+"/coordinator/tasks?taskId="+url.QueryEscape(id), nil, nil)
}

// Wait polls task id until it is DONE.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration) (TaskState, error) {
	for {
		ts, err := c.Task(ctx, id)
		if err == nil && ts.State == "DONE" {
			return ts, nil
		}
		select {
		case <-ctx.Done():
			return ts, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Task returns task id's state on the coordinator.
func (c *Client) Task(ctx context.Context, id string) (TaskState, error) {
	var ts TaskState
	err := getJSON(ctx, c.HTTP, c.URL+"/coordinator/tasks/"+url.PathEscape(id), &ts)
	return ts, err
}

// AgentWorkers returns the workers an agent at url holds, by task id.
func AgentWorkers(ctx context.Context, hc *http.Client, agentURL string) (map[string]TaskState, error) {
	var resp struct {
		Workers map[string]TaskState `json:"workers"`
	}
	if err := getJSON(ctx, hc, agentURL+"/agent/status", &resp); err != nil {
		return nil, err
	}
	out := map[string]TaskState{}
	for _, w := range resp.Workers {
		out[w.TaskID] = w
	}
	return out, nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	return do(ctx, hc, http.MethodGet, u, nil, v)
}

// do sends one request, with in as its JSON body unless nil, and decodes
// the answer into v unless nil; a non-2xx answer becomes an error carrying
// Trogdor's ErrorResponse message.
func do(ctx context.Context, hc *http.Client, method, u string, in, v any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, e.Message)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// StopTask stops task id (PUT /coordinator/task/stop): its workers stop
// and it ends DONE, their last status kept on the agents.
func (c *Client) StopTask(ctx context.Context, id string) error {
	return do(ctx, c.HTTP, http.MethodPut, c.URL+"/coordinator/task/stop", map[string]string{"id": id}, nil)
}
