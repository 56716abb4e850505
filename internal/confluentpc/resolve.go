package confluentpc

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kpar/kpar/internal/broker"
	"github.com/kpar/kpar/internal/proc"
)

//go:embed assets/pom.xml
var pomXML []byte

// javaFS holds every Java source kpar runs: the harness (Harness.java) and
// the lab's bridge (LabBridge.java). They are compiled together into one
// classes directory whose name hashes all of them.
//
//go:embed assets/*.java
var javaFS embed.FS

// javaSources maps each embedded .java file's name to its source; a test
// swaps one to compile a broken source.
var javaSources = func() map[string][]byte {
	m := map[string][]byte{}
	files, _ := javaFS.ReadDir("assets")
	for _, f := range files {
		if b, err := javaFS.ReadFile(path.Join("assets", f.Name())); err == nil {
			m[f.Name()] = b
		}
	}
	return m
}()

// sourceNames are javaSources' names, sorted.
func sourceNames() []string {
	return slices.Sorted(maps.Keys(javaSources))
}

// Versions pinned by assets/pom.xml. The harness reports the versions it
// actually loaded (Result.PCVersion, Result.KafkaClientsVersion); a test
// checks they match these.
const (
	PCVersion           = "0.5.3.3"
	KafkaClientsVersion = "3.9.1"
	SLF4JVersion        = "2.0.13"
)

// harnessClass is the harness's main class (default package).
const harnessClass = "Harness"

// ErrNoJavac means java was found but no javac beside it or on PATH: a JRE
// without the JDK. java and mvn missing are broker.ErrNoJava and
// broker.ErrNoMaven.
var ErrNoJavac = errors.New("javac not found: install a JDK 17+ (not only a JRE), e.g. apt-get install openjdk-17-jdk-headless, or set JAVA_HOME")

// cacheRoot is <kpar cache>/pc-<version>: the jars in libs/, each compiled
// harness in harness-<hash>/.
func cacheRoot() string { return filepath.Join(broker.CacheDir(), "pc-"+PCVersion) }

// LibDir returns the directory of the cached Parallel Consumer jars,
// resolving them with Maven on first use (broker.ResolveJars, as the Kafka
// jars are).
func LibDir(ctx context.Context, progress func(string)) (string, error) {
	libs := filepath.Join(cacheRoot(), "libs")
	return libs, broker.ResolveJars(ctx, pomXML, libs, "Parallel Consumer "+PCVersion, progress)
}

// ClassesDir returns the directory holding the compiled harness and lab
// bridge, compiling every embedded .java source together against libs on
// first use (broker.Cached). The directory is named by a hash of all the
// sources, so an edit to any of them compiles afresh.
func ClassesDir(ctx context.Context, java, libs string) (string, error) {
	dir := filepath.Join(cacheRoot(), "harness-"+harnessHash())
	return dir, broker.Cached(dir, strings.Join(sourceNames(), "\n"), func(tmp, out string) error {
		javac, err := javacFor(java)
		if err != nil {
			return err
		}
		args := []string{"-encoding", "UTF-8", "-nowarn", "-cp", filepath.Join(libs, "*"), "-d", out}
		for _, name := range sourceNames() {
			src := filepath.Join(tmp, name)
			if err := os.WriteFile(src, javaSources[name], 0o644); err != nil {
				return err
			}
			args = append(args, src)
		}
		if log, _, err := proc.Output(ctx, "javac", append([]string{javac}, args...), proc.Options{}); err != nil {
			return fmt.Errorf("javac could not compile the Parallel Consumer harness and lab bridge (%v):\n%s",
				err, broker.TailLines(string(log), 30))
		}
		return nil
	})
}

// harnessHash covers every source, name and length included, so no edit
// or rename of any of them reuses a stale classes directory.
func harnessHash() string {
	h := sha256.New()
	for _, name := range sourceNames() {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(javaSources[name]))
		h.Write(javaSources[name])
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// Classpath resolves PC's jars and compiles the embedded sources if needed
// (both cached) and returns the java binary and the class path that runs
// Harness or LabBridge. The lab calls it once in its parent process, so
// worker processes start the JVM without Maven or javac on their clock.
func Classpath(ctx context.Context, progress func(string)) (java, classpath string, err error) {
	if java, err = broker.JavaBin(); err != nil {
		return "", "", err
	}
	libs, err := LibDir(ctx, progress)
	if err != nil {
		return "", "", err
	}
	classes, err := ClassesDir(ctx, java, libs)
	if err != nil {
		return "", "", err
	}
	return java, filepath.Join(libs, "*") + string(filepath.ListSeparator) + classes, nil
}

// javacFor finds the javac of the same JDK as java (following the
// /usr/bin/java -> /usr/lib/jvm/... links), else javac on PATH.
func javacFor(java string) (string, error) {
	cands := []string{filepath.Join(filepath.Dir(java), "javac")}
	if real, err := filepath.EvalSymlinks(java); err == nil {
		cands = append([]string{filepath.Join(filepath.Dir(real), "javac")}, cands...)
	}
	for _, c := range cands {
		if broker.FileExists(c) {
			return c, nil
		}
	}
	if p, err := exec.LookPath("javac"); err == nil {
		return p, nil
	}
	return "", ErrNoJavac
}
