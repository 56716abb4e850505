// Package datagen writes a deterministic e-commerce event CSV: the same seed
// and row count always give the same bytes, so every bench run and every
// engineer reads identical input.
package datagen

import (
	"bufio"
	"cmp"
	"encoding/csv"
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
	cw := csv.NewWriter(bufio.NewWriterSize(w, 1<<20))
	cw.UseCRLF = cfg.CRLF
	cw.Write(Header)
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9E3779B97F4A7C15))
	// Zipf gives the hot-customer skew real shops have, which matters for
	// key-based partitioning.
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(cfg.Customers-1))
	ts := epoch
	row := make([]string, len(Header))
	for i := range cfg.Rows {
		// The draws in this order: the same seed gives the same bytes.
		ts = ts.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		event, customer, session, prod := eventTypes[rng.IntN(len(eventTypes))], zipf.Uint64(), rng.Uint64(), rng.IntN(50_000)
		quantity, country, device := 1+rng.IntN(5), countries[rng.IntN(len(countries))], devices[rng.IntN(len(devices))]
		cents := 199 + (prod*7919)%49_800
		row = append(row[:0], strconv.Itoa(i+1), ts.Format("2006-01-02T15:04:05.000Z"), event, fmt.Sprintf("C%07d", customer),
			fmt.Sprintf("%016x", session), fmt.Sprintf("P%06d", prod),
			adjectives[prod%len(adjectives)]+" "+nouns[prod/len(adjectives)%len(nouns)]+variants[prod%len(variants)],
			categories[prod%len(categories)], strconv.Itoa(quantity), fmt.Sprintf("%d.%02d", cents/100, cents%100),
			cmp.Or(currencies[country], "EUR"), country, device)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
