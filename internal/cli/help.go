package cli

import (
	"embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/compare"
	"github.com/kpar/kpar/internal/confluentpc"
	"github.com/kpar/kpar/internal/lab/consumer"
	"github.com/kpar/kpar/internal/lab/group"
	"github.com/kpar/kpar/internal/lab/groupsettings"
	"github.com/kpar/kpar/internal/lab/producer"
	"github.com/kpar/kpar/internal/lab/soak"
	"github.com/kpar/kpar/internal/trogdor"
)

// A command's long help is prose, kept apart from the code in
// help/<command path>.txt (`kpar lab consumer`: help/lab-consumer.txt); the
// versions, schemas and directories it names come from the code, as
// template fields.
//
//go:embed help/*.txt
var helpFiles embed.FS

// help is the long help of the command at path. A missing file or field is
// a mistake in the tree, found by any test that builds the command tree.
func help(path string) string {
	b, err := helpFiles.ReadFile("help/" + strings.ReplaceAll(path, " ", "-") + ".txt")
	if err != nil {
		panic(err)
	}
	var out strings.Builder
	err = template.Must(template.New(path).Option("missingkey=error").Parse(string(b))).Execute(&out, map[string]string{
		"KafkaVersion": broker.KafkaVersion, "TrogdorVersion": trogdor.Version, "PCVersion": confluentpc.PCVersion,
		"CacheDir": broker.CacheDir(), "Home": broker.Home(),
		"ConsumerSchema": consumer.Kind.String(), "SoakSchema": soak.Kind.String(),
		"GroupSchema": group.Kind.String(), "ProducerSchema": producer.Kind.String(),
		"GroupSettingsSchema": groupsettings.Kind.String(),
		"CompareSchema":       fmt.Sprintf("%s v%d", compare.Kind.Schema, compare.Kind.Version),
		"TrogdorSchema":       fmt.Sprintf("%s v%d", trogdor.Kind.Schema, trogdor.Kind.Version),
	})
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(out.String(), "\n")
}
