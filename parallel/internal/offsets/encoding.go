package offsets

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Commit metadata layout. Kafka stores metadata as a string, so the binary
// form is base64-encoded (URL alphabet, no padding) behind a text prefix that
// lets a decoder recognise our metadata among, say, kgo's member id.
//
//	prefix "kpar1:" then base64 of:
//	  byte    version (1)
//	  byte    format: 0 = nothing completed above base, 1 = run-length, 2 = bitset
//	  uvarint base offset (must equal the committed offset, else the map is stale)
//	  uvarint n, the number of offsets covered from base
//	  payload:
//	    run-length: uvarint run lengths alternating not-done, done, not-done, ...
//	                starting with a not-done run (possibly 0) and summing to n
//	    bitset:     ceil(n/8) bytes, bit i (LSB first) set when base+i is done
const (
	Prefix  = "kpar1:"
	version = 1

	formatEmpty  = 0
	formatRLE    = 1
	formatBitset = 2

	// headerMax bounds version + format + two uvarints.
	headerMax = 2 + binary.MaxVarintLen64 + binary.MaxVarintLen64

	// DefaultMaxMetadataBytes is the broker's offset.metadata.max.bytes default.
	DefaultMaxMetadataBytes = 4096
)

var b64 = base64.RawURLEncoding

// ErrNotOurs reports metadata that kpar did not write (empty, a member id, ...).
var ErrNotOurs = errors.New("offsets: metadata not written by kpar")

// PayloadBudget returns how many payload bytes fit in metadata of at most
// maxBytes characters once prefix, header and base64 expansion are paid.
func PayloadBudget(maxBytes int) int {
	raw := (maxBytes - len(Prefix)) * 3 / 4
	return raw - headerMax
}

// Encode renders the completion map: base is the committed offset and done
// reports whether base+i (0 <= i < n) is complete; it is called once per i,
// in increasing order. It picks the smaller of the run-length and bitset forms.
func Encode(base int64, n int, done func(i int) bool) string {
	if n <= 0 {
		return ""
	}
	bits := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if done(i) {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return encodeBits(base, n, bits)
}

// encodeBits is Encode of a map given as its bitset (bit i, LSB first, set
// when base+i is done; no bits past n).
func encodeBits(base int64, n int, bits []byte) string {
	rle := appendRLE(nil, n, bits)
	out := make([]byte, 0, headerMax+min(len(rle), len(bits)))
	out = append(out, version)
	if len(rle) <= len(bits) {
		out = append(out, formatRLE)
		out = binary.AppendUvarint(out, uint64(base))
		out = binary.AppendUvarint(out, uint64(n))
		out = append(out, rle...)
	} else {
		out = append(out, formatBitset)
		out = binary.AppendUvarint(out, uint64(base))
		out = binary.AppendUvarint(out, uint64(n))
		out = append(out, bits...)
	}
	return Prefix + b64.EncodeToString(out)
}

// appendRLE appends the runs of bits[:n], alternating not-done and done,
// starting with a not-done run (possibly 0). A whole byte of the current
// run (runs of thousands of offsets are the usual case) is taken at once.
func appendRLE(dst []byte, n int, bits []byte) []byte {
	want := false // first run counts not-done offsets
	run := uint64(0)
	for i := 0; i < n; {
		if i%8 == 0 && i+8 <= n {
			if b := bits[i/8]; (b == 0 && !want) || (b == 0xff && want) {
				run += 8
				i += 8
				continue
			}
		}
		if (bits[i/8]&(1<<(i%8)) != 0) == want {
			run++
		} else {
			dst = binary.AppendUvarint(dst, run)
			want, run = !want, 1
		}
		i++
	}
	return binary.AppendUvarint(dst, run)
}

// Decoded is a completion map read back from commit metadata.
type Decoded struct {
	Base int64 // the committed offset the map is relative to
	N    int   // offsets covered from Base
	bits []byte
}

// Done reports whether offset o was complete when the map was written.
func (d *Decoded) Done(o int64) bool {
	if d == nil || o < d.Base || o >= d.Base+int64(d.N) {
		return false
	}
	i := o - d.Base
	return d.bits[i/8]&(1<<(i%8)) != 0
}

// End is the first offset past the map.
func (d *Decoded) End() int64 {
	if d == nil {
		return 0
	}
	return d.Base + int64(d.N)
}

// maxDecodeN bounds a decoded map so corrupt input cannot allocate without
// limit: 4096 metadata bytes of run-length runs cannot name more offsets
// than this in any map kpar would write.
const maxDecodeN = 1 << 24

// Decode parses metadata written by Encode. It returns ErrNotOurs when the
// string lacks kpar's prefix and a descriptive error when it is corrupt.
func Decode(meta string) (*Decoded, error) {
	if !strings.HasPrefix(meta, Prefix) {
		return nil, ErrNotOurs
	}
	raw, err := b64.DecodeString(meta[len(Prefix):])
	if err != nil {
		return nil, fmt.Errorf("offsets: metadata base64: %w", err)
	}
	if len(raw) < 2 {
		return nil, errors.New("offsets: metadata too short")
	}
	if raw[0] != version {
		return nil, fmt.Errorf("offsets: metadata version %d unsupported", raw[0])
	}
	format := raw[1]
	p := raw[2:]
	base, k := binary.Uvarint(p)
	if k <= 0 || base > 1<<62 {
		return nil, errors.New("offsets: metadata base offset corrupt")
	}
	p = p[k:]
	n64, k := binary.Uvarint(p)
	if k <= 0 || n64 > maxDecodeN {
		return nil, errors.New("offsets: metadata length corrupt")
	}
	p = p[k:]
	n := int(n64)
	d := &Decoded{Base: int64(base), N: n, bits: make([]byte, (n+7)/8)}
	switch format {
	case formatEmpty:
		if n != 0 || len(p) != 0 {
			return nil, errors.New("offsets: empty metadata with payload")
		}
	case formatBitset:
		if len(p) != (n+7)/8 {
			return nil, fmt.Errorf("offsets: bitset of %d bytes for %d offsets", len(p), n)
		}
		copy(d.bits, p)
		if n%8 != 0 && d.bits[len(d.bits)-1]>>(n%8) != 0 {
			return nil, errors.New("offsets: bitset has bits past its length")
		}
	case formatRLE:
		at, done := 0, false
		for len(p) > 0 {
			run, k := binary.Uvarint(p)
			if k <= 0 || run > uint64(n-at) {
				return nil, errors.New("offsets: run-length corrupt")
			}
			p = p[k:]
			if done {
				for i := at; i < at+int(run); i++ {
					d.bits[i/8] |= 1 << (i % 8)
				}
			}
			at += int(run)
			done = !done
		}
		if at != n {
			return nil, fmt.Errorf("offsets: runs cover %d of %d offsets", at, n)
		}
	default:
		return nil, fmt.Errorf("offsets: metadata format %d unknown", format)
	}
	return d, nil
}
