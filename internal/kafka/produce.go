package kafka

import "github.com/twmb/franz-go/pkg/kgo"

// Acks is the franz-go setting of each acks value a producer flag takes
// (Java's acks: "0", "1", "all").
var Acks = map[string]kgo.Acks{"0": kgo.NoAck(), "1": kgo.LeaderAck(), "all": kgo.AllISRAcks()}

// Codecs is the franz-go codec of each compression a producer flag takes
// (Java's compression.type); a command refuses the ones it does not offer.
var Codecs = map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
