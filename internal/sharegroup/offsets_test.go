package sharegroup

import "testing"

func TestAcknowledgedIsEndMinusLagAndAllOnlyAtLagZero(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Partition
		ok   bool
		end  int64
		n    int64
		all  bool
	}{
		{"empty partition, never fetched", Partition{}, false, 0, 0, true},
		{"records, never fetched", Partition{}, false, 10, 0, false},
		{"no state yet", Partition{Start: -1, Lag: -1}, true, 10, 0, false},
		{"start behind, lag zero (seen on 4.3.1)", Partition{Start: 150, Lag: 0}, true, 300, 300, true},
		{"some held", Partition{Start: 0, Lag: 87}, true, 100, 13, false},
	} {
		n, all := Acknowledged(c.p, c.ok, c.end)
		if n != c.n || all != c.all {
			t.Errorf("%s: got %d, %v; want %d, %v", c.name, n, all, c.n, c.all)
		}
	}
}
