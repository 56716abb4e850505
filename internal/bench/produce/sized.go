package produce

import "github.com/kpar/kpar/internal/csvload"

// sized returns d with every value exactly size bytes, made from the rows
// themselves rather than filler, so compression and the broker see data
// like the input: value i is row i's value followed by rows i+1, i+2, ...
// (each joined by one space, wrapping to the first row at the end), cut
// at size. A row longer than size is cut. Keys are unchanged. The values
// are windows into one buffer of the joined rows, so a 10 KB size costs
// no more memory than the input.
func sized(d *csvload.Dataset, size int) *csvload.Dataset {
	total := 0
	for _, v := range d.Values {
		total += len(v) + 1
	}
	if total == 0 {
		total = 1
	}
	buf := make([]byte, 0, total+size)
	offs := make([]int, len(d.Values))
	for i, v := range d.Values {
		offs[i] = len(buf)
		buf = append(buf, v...)
		buf = append(buf, ' ')
	}
	if len(buf) == 0 {
		buf = append(buf, ' ')
	}
	// The wrap-around: repeat the joined rows until the last value's
	// window fits.
	for joined := len(buf); len(buf) < joined+size; {
		buf = append(buf, buf[:min(joined, joined+size-len(buf))]...)
	}
	out := *d
	out.Values = make([][]byte, len(d.Values))
	out.Bytes = 0
	for i, o := range offs {
		out.Values[i] = buf[o : o+size : o+size] // capped: appending never writes into the next value
		out.Bytes += int64(size)
		if d.Keys != nil {
			out.Bytes += int64(len(d.Keys[i]))
		}
	}
	return &out
}

// recordsAt is how many records a step at record size size sends out of n
// rows with a budget of inputBytes (by default the input's keys and
// values): at most that many bytes (so a 10 KB
// sweep does not write 80 times the input to the broker's disk), but never
// fewer than floor records (enough to feed the largest producer count).
func recordsAt(n int, inputBytes int64, size, floor int) int {
	if size <= 0 {
		return n
	}
	k := int(inputBytes / int64(size))
	return min(n, max(k, floor))
}
