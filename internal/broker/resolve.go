package broker

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	kproc "github.com/kpar/kpar/internal/proc"
)

//go:embed assets/pom.xml
var pomXML []byte

//go:embed assets/log4j2.properties
var log4jProps []byte

// ErrNoJava and ErrNoMaven name the missing prerequisite.
var (
	ErrNoJava  = errors.New("java not found: install a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME")
	ErrNoMaven = errors.New("mvn not found: install Maven (e.g. apt-get install maven); it resolves the Kafka jars once")
)

// LibDir returns the directory of the cached Kafka jars, resolving them with
// Maven on first use (ResolveJars).
func LibDir(ctx context.Context, progress func(string)) (string, error) {
	dir := filepath.Join(CacheDir(), "kafka-"+KafkaVersion)
	libs := filepath.Join(dir, "libs")
	if FileExists(filepath.Join(dir, ".complete")) {
		return libs, nil // a cache from before ResolveJars kept its marker beside libs
	}
	return libs, ResolveJars(ctx, pomXML, libs, "Kafka "+KafkaVersion, progress)
}

// ResolveJars makes libs hold the runtime dependencies of pom (what names
// them in messages), running `mvn dependency:copy-dependencies` once
// (Cached).
func ResolveJars(ctx context.Context, pom []byte, libs, what string, progress func(string)) error {
	return Cached(libs, what, func(tmp, out string) error {
		mvn, err := exec.LookPath("mvn")
		if err != nil {
			return ErrNoMaven
		}
		if err := os.WriteFile(filepath.Join(tmp, "pom.xml"), pom, 0o644); err != nil {
			return err
		}
		if progress != nil {
			progress(fmt.Sprintf("resolving %s jars with Maven (first run only) into %s", what, libs))
		}
		log, _, err := kproc.Output(ctx, "mvn", []string{mvn, "-B", "-q", "dependency:copy-dependencies",
			"-DoutputDirectory=" + out, "-DincludeScope=runtime"}, kproc.Options{Dir: tmp})
		if err != nil {
			return fmt.Errorf("maven could not resolve %s jars (%v); last output:\n%s", what, err, TailLines(string(log), 20))
		}
		return nil
	})
}

// Cached makes dir once: unless it holds a .complete marker, build fills
// out, a fresh directory inside tmp, which is beside dir; the marker
// (holding what) is written last and out renamed into place, so a failed or
// concurrent build never leaves a half cache; a concurrent builder that won
// the race left an equally complete copy.
func Cached(dir, what string, build func(tmp, out string) error) error {
	if FileExists(filepath.Join(dir, ".complete")) {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cache %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".build-")
	if err != nil {
		return fmt.Errorf("cache %s: %w", parent, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := build(tmp, out); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, ".complete"), []byte(what+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(out, dir); err != nil && !FileExists(filepath.Join(dir, ".complete")) {
		return fmt.Errorf("installing cache %s: %w", dir, err)
	}
	return nil
}

// ClassPath returns a java -cp value with every Kafka jar, including
// kafka-tools (ProducerPerformance and friends).
func ClassPath(ctx context.Context) (string, error) {
	libs, err := LibDir(ctx, nil)
	if err != nil {
		return "", err
	}
	return filepath.Join(libs, "*"), nil
}

// JavaBin finds a java 17+ binary: $JAVA_HOME/bin/java, else java on PATH.
func JavaBin() (string, error) {
	bin := ""
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		if p := filepath.Join(jh, "bin", "java"); FileExists(p) {
			bin = p
		}
	}
	if bin == "" {
		p, err := exec.LookPath("java")
		if err != nil {
			return "", ErrNoJava
		}
		bin = p
	}
	out, _, err := kproc.Output(context.Background(), "java -version", []string{bin, "-version"}, kproc.Options{})
	if err != nil {
		return "", fmt.Errorf("%s -version failed: %v", bin, err)
	}
	if v := javaMajor(string(out)); v > 0 && v < 17 {
		return "", fmt.Errorf("%s is Java %d; Kafka %s needs Java 17 or newer", bin, v, KafkaVersion)
	}
	return bin, nil
}

var javaVersionRE = regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`)

// javaMajor parses `java -version` output ("1.8.0_x" is 8, "17.0.15" is 17).
func javaMajor(s string) int {
	m := javaVersionRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major
}

// FileExists reports whether p can be stat'ed.
func FileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TailFile returns the last n lines of the file at path, or the read error
// in parentheses.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return TailLines(string(b), n)
}

// TailLines returns the last n lines of s.
func TailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
