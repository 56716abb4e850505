package broker

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The compose file is for users with Docker; it must expose the same client
// ports as `kpar broker up --nodes 3` so the README's addresses hold for both.
func TestDockerComposeExposesKparsClientPorts(t *testing.T) {
	b, err := os.ReadFile("../../deploy/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.Contains(doc, "image: apache/kafka:"+KafkaVersion) {
		t.Errorf("compose must run apache/kafka:%s, the version kpar pins", KafkaVersion)
	}
	services := regexp.MustCompile(`(?m)^  (kafka-\d+):\n((?:    .*\n|      .*\n)*)`).FindAllStringSubmatch(doc, -1)
	if len(services) != 3 {
		t.Fatalf("found %d kafka services, want 3", len(services))
	}
	portRE := regexp.MustCompile(`- "(\d+):(\d+)"`)
	advRE := regexp.MustCompile(`KAFKA_ADVERTISED_LISTENERS: .*EXTERNAL://127\.0\.0\.1:(\d+)`)
	for i, s := range services {
		want := fmt.Sprint(clientPort(9092, i))
		ports := portRE.FindAllStringSubmatch(s[2], -1)
		if len(ports) != 1 || ports[0][1] != want || ports[0][2] != want {
			t.Errorf("%s publishes %v, want %s:%s", s[1], ports, want, want)
		}
		adv := advRE.FindStringSubmatch(s[2])
		if adv == nil || adv[1] != want {
			t.Errorf("%s advertises %v to the host, want 127.0.0.1:%s", s[1], adv, want)
		}
	}
}
