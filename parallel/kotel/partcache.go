package kotel

// topicParts holds, by partition number, the attributes of the partitions
// of the first topic (and group) the Observer saw: a consumer of that topic
// finds its partition's without hashing the topic and the group (a third
// of the cost of an attempt SampledOnly skips, in the profile). Other
// topics go through the map. Copy on write: a reader never sees a slice
// change.
type topicParts struct {
	topic, group string
	parts        []*partAttrs // nil: not looked up yet
}

// partAttrsFast is partAttrs through the first topic's table.
func (o *Observer) partAttrsFast(topic string, part int32, group string) *partAttrs {
	tp := o.first.Load()
	if tp != nil && part >= 0 && int(part) < len(tp.parts) && tp.topic == topic && tp.group == group {
		if pa := tp.parts[part]; pa != nil {
			return pa
		}
	}
	pa := o.partAttrs(topic, part, group)
	if part < 0 || part > 1<<16 || (tp != nil && (tp.topic != topic || tp.group != group)) {
		return pa
	}
	var parts []*partAttrs
	if tp != nil {
		parts = tp.parts
	}
	next := &topicParts{topic: topic, group: group, parts: make([]*partAttrs, max(len(parts), int(part)+1))}
	copy(next.parts, parts)
	next.parts[part] = pa
	o.first.CompareAndSwap(tp, next) // lost to another writer: a later call adds it
	return pa
}
