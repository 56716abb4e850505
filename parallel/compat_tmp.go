package parallel

// Temporary: removed once the bench stops using them (issue 8 in progress).

// Deprecated: use Order.UnmarshalText.
func ParseOrder(s string) (Order, error) {
	var o Order
	err := o.UnmarshalText([]byte(s))
	return o, err
}

// Deprecated: internal.
func DefaultFetchMaxBytes(maxBuffered int) int32 {
	c := cfg{maxBuffered: maxBuffered}
	return c.fetchMaxBytes()
}
