// Package datagen writes a deterministic e-commerce event CSV: the same seed
// and row count always give the same bytes, so every bench run and every
// engineer reads identical input.
package datagen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Header is the column list, in order.
var Header = []string{
	"event_id", "ts", "event_type", "customer_id", "session_id", "product_id",
	"product_name", "category", "quantity", "unit_price", "currency", "country", "device",
}

var (
	eventTypes = []string{"view", "view", "view", "add_to_cart", "add_to_cart", "purchase", "refund"}
	categories = []string{"kitchen", "garden", "books", "toys", "electronics", "sports", "beauty", "grocery"}
	adjectives = []string{"Classic", "Compact", "Deluxe", "Eco", "Mini", "Pro", "Smart", "Vintage"}
	nouns      = []string{"Mug", "Lamp", "Kettle", "Backpack", "Headphones", "Notebook", "Blender", "Chair", "Puzzle", "Racket"}
	// Some names hold a comma or a quote, so the file exercises CSV quoting.
	variants   = []string{"", "", "", ", ceramic", ", 2-pack", " \"limited\"", ", blue"}
	countries  = []string{"US", "DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "BR", "JP", "IN"}
	currencies = map[string]string{"US": "USD", "GB": "GBP", "PL": "PLN", "SE": "SEK", "BR": "BRL", "JP": "JPY", "IN": "INR"}
	devices    = []string{"web", "ios", "android"}
	epoch      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Config says what to generate.
type Config struct {
	Rows      int
	Seed      uint64
	Customers int // distinct customer ids; skewed so a few are hot
	CRLF      bool
}

// Write writes the header and cfg.Rows rows to w.
func Write(w io.Writer, cfg Config) error {
	if cfg.Rows < 0 {
		return fmt.Errorf("rows %d: want 0 or more", cfg.Rows)
	}
	if cfg.Customers <= 0 {
		cfg.Customers = 100_000
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	eol := "\n"
	if cfg.CRLF {
		eol = "\r\n"
	}
	for i, h := range Header {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(h)
	}
	bw.WriteString(eol)
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9E3779B97F4A7C15))
	// Zipf gives the hot-customer skew real shops have, which matters for
	// key-based partitioning.
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(cfg.Customers-1))
	ts := epoch
	var b []byte
	for i := 0; i < cfg.Rows; i++ {
		ts = ts.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		b = b[:0]
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, ',')
		b = ts.AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, ',')
		b = append(b, eventTypes[rng.IntN(len(eventTypes))]...)
		b = append(b, ",C"...)
		b = appendPad(b, zipf.Uint64(), 7)
		b = append(b, ',')
		b = appendHex(b, rng.Uint64())
		b = append(b, ",P"...)
		prod := rng.IntN(50_000)
		b = appendPad(b, uint64(prod), 6)
		b = append(b, ',')
		name := adjectives[prod%len(adjectives)] + " " + nouns[prod/len(adjectives)%len(nouns)] + variants[prod%len(variants)]
		b = appendField(b, name)
		b = append(b, ',')
		b = append(b, categories[prod%len(categories)]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(1+rng.IntN(5)), 10)
		b = append(b, ',')
		cents := 199 + (prod*7919)%49_800
		b = strconv.AppendInt(b, int64(cents/100), 10)
		b = append(b, '.')
		b = appendPad(b, uint64(cents%100), 2)
		country := countries[rng.IntN(len(countries))]
		cur, ok := currencies[country]
		if !ok {
			cur = "EUR"
		}
		b = append(b, ',')
		b = append(b, cur...)
		b = append(b, ',')
		b = append(b, country...)
		b = append(b, ',')
		b = append(b, devices[rng.IntN(len(devices))]...)
		b = append(b, eol...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendPad(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[(v>>uint(i))&0xF])
	}
	return b
}

// appendField quotes s when it holds a comma, quote or line break.
func appendField(b []byte, s string) []byte {
	needs := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
