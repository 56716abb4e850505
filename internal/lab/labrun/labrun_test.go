package labrun

import "testing"

// A lab refuses to start without a broker, or without the command that
// starts its processes when it needs one, naming the lab and what is
// missing; with both (or no child needed) it starts.
func TestReadyNamesTheLabAndWhatIsMissing(t *testing.T) {
	b := []string{"127.0.0.1:9092"}
	for _, c := range []struct {
		brokers  []string
		child    string
		hasChild bool
		want     string
	}{
		{nil, "member", true, "lab x: no broker to run against"},
		{b, "member", false, "lab x: no member command"},
		{b, "member", true, ""},
		{b, "", false, ""},
	} {
		err := Ready("lab x", c.brokers, c.child, c.hasChild)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("Ready(%v, %q, %v) = %q, want %q", c.brokers, c.child, c.hasChild, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("Ready(%v, %q, %v) passed, want %q", c.brokers, c.child, c.hasChild, c.want)
		}
	}
}

// A starred count is one the cell calls timing-dependent; the others are
// plain numbers.
func TestCountStarsOnlyTimingDependentCounts(t *testing.T) {
	r := Repeats{Exact: []string{"lost"}, TimingDependent: []string{"duplicated"}}
	if got := r.Count("duplicated", 1200); got != "1,200*" {
		t.Errorf("timing-dependent count = %q, want 1,200*", got)
	}
	if got := r.Count("lost", 3); got != "3" {
		t.Errorf("exact count = %q, want 3", got)
	}
}

type named string

func (n named) Name() string { return "cell " + string(n) }

// Names keeps the cells' order and takes each one's own name.
func TestNamesKeepsTheCellsOrder(t *testing.T) {
	got := Names([]named{"b", "a"})
	if len(got) != 2 || got[0] != "cell b" || got[1] != "cell a" {
		t.Errorf("Names = %q, want [cell b cell a]", got)
	}
}
