package kotel

import "testing"

// The first topic's table gives the same attributes as the map, for every
// partition in any order, and other topics and groups are not confused
// with it.
func TestPartAttrsFastAgreesWithTheMap(t *testing.T) {
	o := New()
	for _, c := range []struct {
		topic string
		part  int32
		group string
	}{{"a", 3, "g"}, {"a", 0, "g"}, {"b", 0, "g"}, {"a", 0, "h"}, {"a", 3, "g"}, {"a", 7, "g"}, {"a", -1, "g"}, {"b", 1, "g"}, {"a", 1, "g"}} {
		for range 2 {
			got, want := o.partAttrsFast(c.topic, c.part, c.group), o.partAttrs(c.topic, c.part, c.group)
			if got != want {
				t.Fatalf("%v: the table's attributes differ from the map's", c)
			}
		}
	}
	if tp := o.first.Load(); tp == nil || tp.topic != "a" || tp.group != "g" || len(tp.parts) != 8 {
		t.Fatalf("the table holds %+v, want topic a, group g, 8 partitions", tp)
	}
}
