// LabBridge runs Confluent's Parallel Consumer (PC) inside a kpar lab worker
// process (`kpar child lab-worker --strategy pc-<order>`): PC does the
// consuming, ordering, retrying and committing; the Go worker runs the
// handler. For every record PC hands to its poll function, LabBridge writes a
// request line on stdout and blocks that PC thread until the Go side writes
// the reply line with the same id on stdin:
//
//   request  R <id> <topic> <partition> <offset> <key> <value>
//            key and value: "-" for null, else "+" followed by standard base64
//   reply    <id> ok
//            <id> fail <message>     (LabBridge throws, so PC retries the record)
//   control  close                   (stdin: closeDrainFirst, then exit 0)
//
// Replies may come in any order; each PC thread waits for its own id. The Go
// side keeps stdin open until the JVM exits; stdin reaching EOF means the
// worker died, and LabBridge halts at once, as a crashed consumer would (the
// Go side also starts the JVM with a parent-death SIGKILL).
//
// kpar embeds this source and compiles it with the harness on first use
// (internal/confluentpc); flags and protocol: internal/confluentpc/DESIGN.md.
//
// Exit codes: 0 closed on request, 2 bad flags, 4 PC closed or failed on its
// own, 5 close failed (timeout), 1 other.

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import io.confluent.parallelconsumer.internal.DrainingCloseable.DrainingMode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

public final class LabBridge {
    static final int EXIT_FLAGS = 2, EXIT_PC_FAILED = 4, EXIT_CLOSE_FAILED = 5;

    static final class Flags {
        String bootstrap, topic, group, instanceId = "";
        // Java client properties: TLS, SASL. kpar writes it (mode 0600, the
        // password in it) for this JVM alone, which deletes it once read: the
        // lab SIGKILLs the Go worker that would otherwise remove it.
        String clientConfig = "";
        ProcessingOrder ordering = ProcessingOrder.KEY;
        int maxConcurrency = 16;
        long sessionTimeoutMs = 45000, maxPollIntervalMs = 300000, heartbeatMs = 3000;
        long commitIntervalMs = 5000; // PC's default
        long retryDelayMs = 0; // 0: PC's default (1 s)
        long closeTimeoutS = 10;
    }

    // HandlerFailed carries the Go handler's message; no stack trace, since
    // PC logs every failed attempt and the trace would only say "LabBridge".
    static final class HandlerFailed extends RuntimeException {
        HandlerFailed(String msg) { super(msg, null, false, false); }
    }

    static Flags parse(String[] args) {
        Flags f = new Flags();
        List<String> problems = Harness.setFlags(f, args);
        if (f.bootstrap == null || f.bootstrap.isEmpty()) problems.add("--bootstrap is required");
        if (f.topic == null || f.topic.isEmpty()) problems.add("--topic is required");
        if (f.group == null || f.group.isEmpty()) problems.add("--group is required");
        if (f.maxConcurrency <= 0) problems.add("--max-concurrency must be > 0");
        if (f.commitIntervalMs <= 0 || f.closeTimeoutS <= 0 || f.retryDelayMs < 0)
            problems.add("--commit-interval-ms and --close-timeout-s must be > 0, --retry-delay-ms >= 0");
        if (!problems.isEmpty()) {
            System.err.println("labbridge: " + String.join("; ", problems));
            System.exit(EXIT_FLAGS);
        }
        return f;
    }

    public static void main(String[] args) {
        Harness.quietLogs();
        Flags f = parse(args);
        Harness.exit("labbridge", () -> run(f));
    }

    static String b64(byte[] b) {
        return b == null ? "-" : "+" + Base64.getEncoder().encodeToString(b);
    }

    static int run(Flags f) throws Exception {
        // The protocol owns the real stdout; anything a library prints goes to stderr.
        final BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16);
        System.setOut(System.err);
        final ConcurrentHashMap<Long, CompletableFuture<String>> pending = new ConcurrentHashMap<>();
        final AtomicLong ids = new AtomicLong();
        final CountDownLatch closeAsked = new CountDownLatch(1);

        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("close")) {
                        closeAsked.countDown();
                        continue;
                    }
                    int sp = line.indexOf(' ');
                    if (sp < 0) {
                        System.err.println("labbridge: bad reply line: " + line);
                        continue;
                    }
                    CompletableFuture<String> p = pending.remove(Long.parseLong(line.substring(0, sp)));
                    if (p != null) p.complete(line.substring(sp + 1)); // else: a PC thread gave up (interrupted)
                }
            } catch (Exception e) {
                System.err.println("labbridge: reading stdin: " + e);
            }
            // The worker is gone (killed, or its pipe closed): die like it.
            System.err.println("labbridge: stdin closed, halting");
            Runtime.getRuntime().halt(137);
        }, "labbridge-stdin");
        reader.setDaemon(true);
        reader.start();

        Properties props = Harness.consumerProps(f.bootstrap, f.group, "kpar-lab-pc", f.clientConfig);
        if (!f.instanceId.isEmpty()) props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, f.instanceId);
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(f.sessionTimeoutMs));
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, Long.toString(f.maxPollIntervalMs));
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Long.toString(f.heartbeatMs));
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);

        ParallelConsumerOptions.ParallelConsumerOptionsBuilder<byte[], byte[]> b = ParallelConsumerOptions.<byte[], byte[]>builder()
                .consumer(consumer)
                .ordering(f.ordering)
                .maxConcurrency(f.maxConcurrency)
                .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS)
                .commitInterval(Duration.ofMillis(f.commitIntervalMs));
        if (f.retryDelayMs > 0) {
            final Duration delay = Duration.ofMillis(f.retryDelayMs);
            b = b.retryDelayProvider(rc -> delay);
        }
        ParallelStreamProcessor<byte[], byte[]> pc = ParallelStreamProcessor.createEosStreamProcessor(b.build());

        pc.subscribe(List.of(f.topic));
        pc.poll(ctx -> {
            ConsumerRecord<byte[], byte[]> r = ctx.getSingleConsumerRecord();
            long id = ids.incrementAndGet();
            CompletableFuture<String> reply = new CompletableFuture<>();
            pending.put(id, reply);
            String line = "R " + id + " " + r.topic() + " " + r.partition() + " " + r.offset() + " "
                    + b64(r.key()) + " " + b64(r.value()) + "\n";
            String got;
            try {
                synchronized (out) {
                    out.write(line);
                    out.flush();
                }
                got = reply.get();
            } catch (InterruptedException e) {
                pending.remove(id);
                Thread.currentThread().interrupt();
                throw new HandlerFailed("interrupted waiting for the handler of request " + id);
            } catch (java.io.IOException | ExecutionException e) {
                pending.remove(id);
                throw new HandlerFailed("request " + id + ": " + e);
            }
            if (!got.equals("ok")) throw new HandlerFailed(got); // "fail <message>": PC retries it
        });

        while (!closeAsked.await(100, TimeUnit.MILLISECONDS)) {
            if (pc.isClosedOrFailed()) {
                System.err.println("labbridge: parallel consumer closed or failed on its own");
                return EXIT_PC_FAILED;
            }
        }
        try {
            pc.close(Duration.ofSeconds(f.closeTimeoutS), DrainingMode.DRAIN);
        } catch (Exception e) {
            System.err.println("labbridge: closeDrainFirst: " + e);
            return EXIT_CLOSE_FAILED;
        }
        return 0;
    }
}
