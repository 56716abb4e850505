package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// ReadStateFile reads the versioned state file at path (the broker's, the
// Trogdor platform's): notUp when there is none, an error naming path when
// it does not parse or holds another version than want.
func ReadStateFile[S any](path string, want int, notUp error) (*S, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notUp
	}
	if err != nil {
		return nil, err
	}
	var s S
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v.Version != want {
		return nil, fmt.Errorf("%s: state version %d, this kpar reads %d", path, v.Version, want)
	}
	return &s, nil
}

// WriteStateFile writes s to path through a temporary file renamed into
// place, so a reader never sees half a state.
func WriteStateFile(path string, s any) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// PortInUse says whether something listens on port at host ("" for every
// interface): a listen there fails.
func PortInUse(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return true
	}
	l.Close()
	return false
}
