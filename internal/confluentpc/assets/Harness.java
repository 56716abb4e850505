// Harness runs Confluent's Parallel Consumer (PC) over one topic until a given
// number of distinct records has been processed, then prints exactly one JSON
// line on stdout describing the run. Logs (slf4j-simple, WARN by default) and
// every error message go to stderr.
//
// kpar embeds this source and compiles it on first use (internal/confluentpc); it is
// never committed as a jar. Flags and output fields: internal/confluentpc/DESIGN.md.
//
// Exit codes: 0 done (JSON printed), 2 bad flags, 3 timeout (the count reached
// is on stderr), 4 PC closed or failed before the count was reached, 1 other.
//
// For the out-of-order window experiment (internal/compare/stuck) it can also
// hold one record per partition (--stuck-offset) until the line "release"
// arrives on stdin (no timer: the driver decides when), append every processed
// record to a file (--processed-log) and print progress lines (--progress-ms)
// on stdout before the summary line. With --stuck-offset, stdin ending (before
// or after "release") exits with code 5: the driver is gone.

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import io.confluent.parallelconsumer.RecordContext;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.lang.management.ManagementFactory;
import java.lang.management.RuntimeMXBean;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class Harness {
    static final int EXIT_FLAGS = 2, EXIT_TIMEOUT = 3, EXIT_PC_FAILED = 4, EXIT_DRIVER_GONE = 5;

    static final class Flags {
        String bootstrap, topic, group;
        long records;
        ProcessingOrder ordering = ProcessingOrder.KEY;
        int maxConcurrency = 16; // PC's default
        CommitMode commitMode = CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS; // PC's default
        int batchSize = 1; // PC's default
        String work = "noop";
        long sleepMs;
        long timeoutS = 300;
        long stuckOffset = -1; // >= 0: the record at this offset, per partition, is held once until "release" on stdin
        String processedLog = ""; // append "partition offset\n" per processed record
        // Java client properties: TLS, SASL. kpar writes it (mode 0600, the
        // password in it) for this JVM alone, which deletes it once read.
        String clientConfig = "";
        long progressMs; // > 0: a progress line on stdout this often
        long sessionTimeoutMs; // > 0: the consumer's session.timeout.ms (else Kafka's default)
        // > 0: the consumer's fetch.max.bytes and max.partition.fetch.bytes
        // (else kafka-clients' defaults), e.g. the sizes kpar's client ran with.
        long fetchMaxBytes;
        long maxPartitionFetchBytes;
    }

    static final class BadFlag extends Exception {
        BadFlag(String msg) { super(msg); }
    }

    // setFlags sets every "--kebab-name value" pair of args on the field of
    // flags named in camel case (--max-concurrency: maxConcurrency), parsed
    // by its type (String, int, long, an enum), and returns every problem:
    // a missing value, an unknown flag, a value that does not parse. The
    // harness and the lab bridge read their flags through it.
    @SuppressWarnings({"unchecked", "rawtypes"})
    static List<String> setFlags(Object flags, String[] args) {
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i];
            if (i + 1 >= args.length) {
                problems.add(name + " needs a value");
                break;
            }
            String v = args[i + 1];
            java.lang.reflect.Field field;
            try {
                if (!name.startsWith("--")) throw new NoSuchFieldException(name);
                StringBuilder camel = new StringBuilder();
                for (String w : name.substring(2).split("-"))
                    camel.append(camel.length() == 0 || w.isEmpty() ? w : Character.toUpperCase(w.charAt(0)) + w.substring(1));
                field = flags.getClass().getDeclaredField(camel.toString());
                field.setAccessible(true);
            } catch (NoSuchFieldException e) {
                problems.add("unknown flag " + name);
                continue;
            }
            try {
                Class<?> t = field.getType();
                if (t == String.class) field.set(flags, v);
                else if (t == int.class) field.setInt(flags, Integer.parseInt(v));
                else if (t == long.class) field.setLong(flags, Long.parseLong(v));
                else field.set(flags, Enum.valueOf((Class) t, v));
            } catch (IllegalArgumentException e) { // NumberFormatException and enum valueOf
                problems.add(name + " " + v + ": " + e.getMessage());
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        return problems;
    }

    // quietLogs sends PC's and the client's logs (slf4j-simple) to stderr at
    // WARN, before any logger exists; a -D on the command line wins.
    static void quietLogs() {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null)
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        if (System.getProperty("org.slf4j.simpleLogger.logFile") == null)
            System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    }

    static Flags parse(String[] args) throws BadFlag {
        Flags f = new Flags();
        List<String> problems = setFlags(f, args);
        if (f.bootstrap == null || f.bootstrap.isEmpty()) problems.add("--bootstrap is required");
        if (f.topic == null || f.topic.isEmpty()) problems.add("--topic is required");
        if (f.group == null || f.group.isEmpty()) problems.add("--group is required");
        if (f.records <= 0) problems.add("--records must be > 0");
        if (f.maxConcurrency <= 0) problems.add("--max-concurrency must be > 0");
        if (f.batchSize <= 0) problems.add("--batch-size must be > 0");
        // The transactional mode needs a producer; this harness only consumes.
        if (f.commitMode == CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER)
            problems.add("--commit-mode PERIODIC_TRANSACTIONAL_PRODUCER is not supported (no producer)");
        if (!f.work.equals("noop") && !f.work.equals("sleep")) problems.add("--work must be noop or sleep, not " + f.work);
        if (f.sleepMs < 0) problems.add("--sleep-ms must be >= 0");
        if (f.work.equals("noop") && f.sleepMs != 0) problems.add("--sleep-ms needs --work sleep");
        if (f.timeoutS <= 0) problems.add("--timeout-s must be > 0");
        if (f.stuckOffset < -1) problems.add("--stuck-offset must be >= 0 (or -1: none)");
        if (f.progressMs < 0) problems.add("--progress-ms must be >= 0");
        if (f.sessionTimeoutMs < 0) problems.add("--session-timeout-ms must be >= 0");
        if (f.fetchMaxBytes < 0 || f.fetchMaxBytes > Integer.MAX_VALUE) problems.add("--fetch-max-bytes must be in [0, 2^31)");
        if (f.maxPartitionFetchBytes < 0 || f.maxPartitionFetchBytes > Integer.MAX_VALUE)
            problems.add("--max-partition-fetch-bytes must be in [0, 2^31)");
        if (!problems.isEmpty()) throw new BadFlag(String.join("; ", problems));
        return f;
    }

    // Seen records the offsets processed per partition so that a record PC
    // hands over twice (a replay after a rebalance) counts once. One BitSet per
    // partition, indexed from the lowest offset seen so far.
    static final class Seen {
        private static final class Part {
            long base = -1;
            BitSet bits = new BitSet();
        }

        private final Map<Integer, Part> parts = new HashMap<>();
        final AtomicLong distinct = new AtomicLong();
        final LongAdder duplicates = new LongAdder();

        // mark returns the distinct count after this record, or -1 for a duplicate.
        long mark(int partition, long offset) {
            boolean fresh;
            synchronized (this) {
                Part p = parts.computeIfAbsent(partition, k -> new Part());
                if (p.base < 0) p.base = offset;
                if (offset < p.base) { // rebase: rare, records of a partition mostly arrive in order
                    BitSet moved = new BitSet();
                    int shift = Math.toIntExact(p.base - offset);
                    for (int i = p.bits.nextSetBit(0); i >= 0; i = p.bits.nextSetBit(i + 1)) moved.set(i + shift);
                    p.bits = moved;
                    p.base = offset;
                }
                int idx = Math.toIntExact(offset - p.base);
                fresh = !p.bits.get(idx);
                if (fresh) p.bits.set(idx);
            }
            if (!fresh) {
                duplicates.increment();
                return -1;
            }
            return distinct.incrementAndGet();
        }
    }

    // ProcessedLog appends "partition offset\n" per processed record with one
    // unbuffered write each, so a line is in the file (the page cache) before
    // the handler returns and survives a SIGKILL of this process.
    static final class ProcessedLog {
        private final FileOutputStream out;

        ProcessedLog(String path) throws IOException {
            out = new FileOutputStream(path, true);
        }

        void append(int partition, long offset) {
            byte[] line = (partition + " " + offset + "\n").getBytes(StandardCharsets.US_ASCII);
            try {
                synchronized (this) {
                    out.write(line);
                }
            } catch (IOException e) {
                throw new RuntimeException("processed log: " + e.getMessage(), e);
            }
        }
    }

    public static void main(String[] args) {
        quietLogs();
        Flags f;
        try {
            f = parse(args);
        } catch (BadFlag e) {
            System.err.println("harness: " + e.getMessage());
            System.exit(EXIT_FLAGS);
            return;
        }
        exit("harness", () -> run(f));
    }

    interface Main {
        int run() throws Exception;
    }

    // exit runs main and exits with its code; anything it throws exits 1,
    // named under who with its stack trace on stderr.
    static void exit(String who, Main main) {
        try {
            System.exit(main.run());
        } catch (Throwable t) {
            System.err.println(who + ": " + t);
            t.printStackTrace(System.err);
            System.exit(1);
        }
    }

    // consumerProps is what both PC programs (this harness and LabBridge)
    // give their consumer: PC commits (it refuses auto-commit), reads from
    // the start, bytes in and out (no decoding cost in the measurement), and
    // the security settings kpar's own clients use (clientConfig, deleted
    // once read), so PC meets the same listener.
    static Properties consumerProps(String bootstrap, String group, String clientId, String clientConfig) throws IOException {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        if (!clientConfig.isEmpty()) {
            java.nio.file.Path path = java.nio.file.Paths.get(clientConfig);
            try (java.io.Reader r = java.nio.file.Files.newBufferedReader(path)) {
                Properties sec = new Properties();
                sec.load(r);
                props.putAll(sec);
            }
            java.nio.file.Files.deleteIfExists(path);
        }
        return props;
    }

    static int run(Flags f) throws Exception {
        Properties props = consumerProps(f.bootstrap, f.group, "kpar-pc-harness", f.clientConfig);
        if (f.sessionTimeoutMs > 0) props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(f.sessionTimeoutMs));
        if (f.fetchMaxBytes > 0) props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Long.toString(f.fetchMaxBytes));
        if (f.maxPartitionFetchBytes > 0)
            props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Long.toString(f.maxPartitionFetchBytes));
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);

        ParallelConsumerOptions<byte[], byte[]> opts = ParallelConsumerOptions.<byte[], byte[]>builder()
                .consumer(consumer)
                .ordering(f.ordering)
                .maxConcurrency(f.maxConcurrency)
                .commitMode(f.commitMode)
                .batchSize(f.batchSize)
                .build();
        ParallelStreamProcessor<byte[], byte[]> pc = ParallelStreamProcessor.createEosStreamProcessor(opts);

        final boolean sleep = f.work.equals("sleep");
        final long sleepMs = f.sleepMs;
        final long target = f.records;
        final Seen seen = new Seen();
        final LongAdder calls = new LongAdder();
        final LongAdder handlerNanos = new LongAdder();
        final LongAdder completions = new LongAdder(); // every record the handler finished, duplicates and drain included
        final AtomicLong firstNanos = new AtomicLong();
        final AtomicLong doneNanos = new AtomicLong();
        // The clock every contender is measured by (kpar's internal/clock):
        // distinct records counted as the handler returns, event A when the
        // count reaches the warm-up (the first 10%), event B at the target.
        final long warm = warmupCount(target);
        final AtomicLong firstDoneNanos = new AtomicLong();
        final AtomicLong aNanos = new AtomicLong();
        final AtomicLong aCount = new AtomicLong();
        final CountDownLatch done = new CountDownLatch(1);
        final ProcessedLog log = f.processedLog.isEmpty() ? null : new ProcessedLog(f.processedLog);
        final long stuckOffset = f.stuckOffset;
        final boolean stuck = stuckOffset >= 0;
        final Map<Integer, Boolean> stuckDone = new ConcurrentHashMap<>();
        final CountDownLatch released = stuck ? releaseOnStdin() : null;

        long start = System.nanoTime();
        ScheduledExecutorService ticker = null;
        if (f.progressMs > 0) {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "harness-progress");
                t.setDaemon(true);
                return t;
            });
            ticker.scheduleAtFixedRate(() -> {
                String line = String.format(Locale.ROOT, "{\"kind\":\"progress\",\"t_ms\":%d,\"completed\":%d,\"distinct\":%d}",
                        (System.nanoTime() - start) / 1_000_000, completions.sum(), seen.distinct.get());
                synchronized (System.out) {
                    System.out.println(line);
                    System.out.flush();
                }
            }, f.progressMs, f.progressMs, TimeUnit.MILLISECONDS);
        }
        pc.subscribe(List.of(f.topic));
        pc.poll(ctx -> {
            long t0 = System.nanoTime();
            firstNanos.compareAndSet(0, t0);
            if (stuck) {
                for (RecordContext<byte[], byte[]> rc : ctx) {
                    // Exactly this offset: under KEY or UNORDERED order a later
                    // record may be handed over first and must not take its place.
                    if (rc.offset() == stuckOffset && stuckDone.putIfAbsent(rc.partition(), Boolean.TRUE) == null) {
                        try {
                            released.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new RuntimeException("interrupted", e);
                        }
                    }
                }
            }
            if (sleep) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    // Closing: fail the record so PC does not count it as done.
                    Thread.currentThread().interrupt();
                    throw new RuntimeException("interrupted", e);
                }
            }
            handlerNanos.add(System.nanoTime() - t0);
            calls.increment();
            for (RecordContext<byte[], byte[]> rc : ctx) {
                if (log != null) log.append(rc.partition(), rc.offset());
                completions.increment();
                long count = seen.mark(rc.partition(), rc.offset());
                if (count < 0) continue; // a repeat: counted once
                long now = System.nanoTime();
                firstDoneNanos.compareAndSet(0, now);
                if (count == warm) {
                    aNanos.set(now);
                    aCount.set(count);
                }
                if (count == target) {
                    doneNanos.set(now);
                    done.countDown();
                }
            }
        });

        // Wake up often enough to notice PC failing instead of sitting out the timeout.
        long deadline = start + TimeUnit.SECONDS.toNanos(f.timeoutS);
        while (!done.await(100, TimeUnit.MILLISECONDS)) {
            if (pc.isClosedOrFailed()) {
                System.err.printf(Locale.ROOT, "harness: parallel consumer closed or failed after %d of %d records%n",
                        seen.distinct.get(), target);
                return EXIT_PC_FAILED;
            }
            if (System.nanoTime() - deadline > 0) {
                System.err.printf(Locale.ROOT, "harness: timeout: %d of %d records processed in %d s%n",
                        seen.distinct.get(), target, f.timeoutS);
                // No close: it could itself hang on a sick broker; exit ends the process.
                return EXIT_TIMEOUT;
            }
        }
        long end = doneNanos.get();
        if (ticker != null) {
            ticker.shutdownNow();
            ticker.awaitTermination(5, TimeUnit.SECONDS);
        }
        long closeStart = System.nanoTime();
        pc.closeDrainFirst();
        double closeS = (System.nanoTime() - closeStart) / 1e9;

        long first = firstNanos.get();
        double seconds = (end - start) / 1e9;
        long nCalls = calls.sum();
        StringBuilder j = new StringBuilder(1024);
        j.append('{');
        field(j, "records", target);
        field(j, "seconds", seconds);
        field(j, "records_per_s", target / seconds);
        field(j, "first_record_s", (first - start) / 1e9);
        // Every one of the N completions falls inside [first handler start, N-th completion].
        field(j, "steady_records_per_s", target / ((end - first) / 1e9));
        // The clock's raw events, seconds since subscribe; Go computes the
        // window from them (clock.Compute) so the arithmetic is in one place.
        field(j, "warmup_records", aCount.get());
        field(j, "end_records", target);
        field(j, "first_done_s", (firstDoneNanos.get() - start) / 1e9);
        field(j, "window_a_s", (aNanos.get() - start) / 1e9);
        field(j, "window_b_s", (end - start) / 1e9);
        field(j, "handler_calls", nCalls);
        field(j, "mean_handler_ms", nCalls == 0 ? 0 : handlerNanos.sum() / 1e6 / nCalls);
        field(j, "duplicates", seen.duplicates.sum());
        field(j, "completions", completions.sum());
        field(j, "close_s", closeS);
        field(j, "cpu_seconds", processCpuSeconds());
        RuntimeMXBean rt = ManagementFactory.getRuntimeMXBean();
        field(j, "startup_s", (System.currentTimeMillis() - rt.getStartTime()) / 1e3 - (System.nanoTime() - start) / 1e9);
        j.append("\"jvm\":{");
        field(j, "version", System.getProperty("java.version"));
        field(j, "vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        j.append("\"input_arguments\":[");
        List<String> in = rt.getInputArguments();
        for (int i = 0; i < in.size(); i++) {
            if (i > 0) j.append(',');
            str(j, in.get(i));
        }
        j.append("],");
        field(j, "max_heap_bytes", Runtime.getRuntime().maxMemory());
        field(j, "available_processors", (long) Runtime.getRuntime().availableProcessors());
        trimComma(j);
        j.append("},");
        j.append("\"options\":{");
        field(j, "bootstrap", f.bootstrap);
        field(j, "topic", f.topic);
        field(j, "group", f.group);
        field(j, "ordering", f.ordering.name());
        field(j, "max_concurrency", (long) f.maxConcurrency);
        field(j, "commit_mode", f.commitMode.name());
        field(j, "batch_size", (long) f.batchSize);
        field(j, "work", f.work);
        field(j, "sleep_ms", f.sleepMs);
        field(j, "timeout_s", f.timeoutS);
        field(j, "stuck_offset", f.stuckOffset);
        field(j, "processed_log", f.processedLog);
        field(j, "progress_ms", f.progressMs);
        field(j, "session_timeout_ms", f.sessionTimeoutMs);
        field(j, "fetch_max_bytes", f.fetchMaxBytes);
        field(j, "max_partition_fetch_bytes", f.maxPartitionFetchBytes);
        trimComma(j);
        j.append("},");
        field(j, "pc_version", pcVersion());
        field(j, "kafka_clients_version", AppInfoParser.getVersion());
        trimComma(j);
        j.append('}');
        synchronized (System.out) {
            System.out.println(j);
            System.out.flush();
        }
        return 0;
    }

    // releaseOnStdin returns a latch opened by the line "release" on stdin, read
    // by a daemon thread. The driver keeps stdin open as long as it wants this
    // process, so stdin ending (or failing), before or after the release, means
    // it is gone: the process exits with EXIT_DRIVER_GONE instead of holding the
    // records, or running, forever.
    static CountDownLatch releaseOnStdin() {
        CountDownLatch latch = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try (java.io.BufferedReader in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(System.in, StandardCharsets.US_ASCII))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.trim().equals("release")) latch.countDown();
                }
            } catch (IOException e) {
                // as the end of stdin
            }
            System.err.println("harness: stdin closed (the driver is gone)"
                    + (latch.getCount() > 0 ? " before the stuck records were released" : ""));
            Runtime.getRuntime().halt(EXIT_DRIVER_GONE);
        }, "harness-release");
        t.setDaemon(true);
        t.start();
        return latch;
    }

    // warmupCount is W for n records, as internal/clock's WarmupCount:
    // ceil(n * 0.10), at least 1 and below n when n > 1.
    static long warmupCount(long n) {
        long w = (long) Math.ceil(n * 0.10);
        if (w < 1) w = 1;
        if (w >= n && n > 1) w = n - 1;
        return w;
    }

    static double processCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            long ns = ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
            if (ns >= 0) return ns / 1e9;
        }
        return -1; // not available on this JVM; the Go driver also reads rusage
    }

    static String pcVersion() {
        String res = "/META-INF/maven/io.confluent.parallelconsumer/parallel-consumer-core/pom.properties";
        try (InputStream in = ParallelStreamProcessor.class.getResourceAsStream(res)) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (Exception e) {
            return "unknown";
        }
    }

    static void field(StringBuilder j, String k, long v) {
        str(j, k);
        j.append(':').append(v).append(',');
    }

    static void field(StringBuilder j, String k, double v) {
        str(j, k);
        // JSON has no NaN or Infinity.
        j.append(':').append(Double.isFinite(v) ? String.format(Locale.ROOT, "%.6f", v) : "null").append(',');
    }

    static void field(StringBuilder j, String k, String v) {
        str(j, k);
        j.append(':');
        str(j, v);
        j.append(',');
    }

    static void trimComma(StringBuilder j) {
        if (j.length() > 0 && j.charAt(j.length() - 1) == ',') j.setLength(j.length() - 1);
    }

    static void str(StringBuilder j, String s) {
        j.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': j.append("\\\""); break;
                case '\\': j.append("\\\\"); break;
                case '\n': j.append("\\n"); break;
                case '\r': j.append("\\r"); break;
                case '\t': j.append("\\t"); break;
                default:
                    if (c < 0x20) j.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else j.append(c);
            }
        }
        j.append('"');
    }
}
