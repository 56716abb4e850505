package broker

import (
	"bytes"
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
// Maven on first use. Resolution happens in a temporary directory renamed
// into place, so a failed or concurrent download never leaves a half cache.
func LibDir(ctx context.Context, progress func(string)) (string, error) {
	dir := filepath.Join(CacheDir(), "kafka-"+KafkaVersion)
	libs := filepath.Join(dir, "libs")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return libs, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", ErrNoMaven
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", fmt.Errorf("jar cache %s: %w", CacheDir(), err)
	}
	tmp, err := os.MkdirTemp(CacheDir(), ".resolve-")
	if err != nil {
		return "", fmt.Errorf("jar cache %s: %w", CacheDir(), err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "pom.xml"), pomXML, 0o644); err != nil {
		return "", err
	}
	if progress != nil {
		progress(fmt.Sprintf("resolving Apache Kafka %s jars with Maven (first run only) into %s", KafkaVersion, dir))
	}
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "dependency:copy-dependencies",
		"-DoutputDirectory="+filepath.Join(tmp, "libs"), "-DincludeScope=runtime")
	cmd.Dir = tmp
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("maven could not resolve Kafka %s jars (%v); last output:\n%s",
			KafkaVersion, err, tailLines(out.String(), 15))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(KafkaVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	// A concurrent resolver may have won the race; either copy is complete.
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr != nil {
			return "", fmt.Errorf("installing jar cache %s: %w", dir, err)
		}
	}
	return libs, nil
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
		if p := filepath.Join(jh, "bin", "java"); fileExists(p) {
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
	out, err := exec.Command(bin, "-version").CombinedOutput()
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

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
