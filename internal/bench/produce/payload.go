package produce

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// payloadChunk is how much of a payload file one read takes;
// payloadGCPercent is the GOGC of a process that streams one.
const (
	payloadChunk     = 1 << 20
	payloadGCPercent = 400
)

// payloadLines is the records of a payload file read from r: one value per
// line, unkeyed, as kcat -l and ProducerPerformance read the file the
// anchors share. The file is read a chunk at a time while the records go
// out, as kcat reads it, so the process holds only what is in flight. A
// value aliases its chunk, which is never reused, so the client may hold
// it until its delivery report. name is the file's name in errors.
func payloadLines(r io.Reader, name string) source {
	return func(yield func(key, value []byte) bool) error {
		var rest []byte // a line the last chunk cut
		for {
			buf := make([]byte, max(payloadChunk, 2*len(rest)))
			n := copy(buf, rest)
			m, err := io.ReadFull(r, buf[n:])
			buf = buf[:n+m]
			for {
				k := bytes.IndexByte(buf, '\n')
				if k < 0 {
					break
				}
				if !yield(nil, buf[:k:k]) {
					return nil
				}
				buf = buf[k+1:]
			}
			rest = buf
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				if len(rest) > 0 { // the last line has no '\n'
					yield(nil, rest[:len(rest):len(rest)])
				}
				return nil
			case err != nil:
				return fmt.Errorf("payload file %s: %w", name, err)
			}
		}
	}
}
