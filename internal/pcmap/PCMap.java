import io.confluent.parallelconsumer.offsets.OffsetMapCodecManager;
import io.confluent.parallelconsumer.offsets.OffsetMapCodecManager.HighestOffsetAndIncompletes;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;

/**
 * Decodes Parallel Consumer commit metadata with PC's own decoder
 * (OffsetMapCodecManager.deserialiseIncompleteOffsetMapFromBase64). Each line
 * of the file named by the one argument is "committedOffset TAB metadata";
 * each stdout line, in the same order, is
 * {"highest":N,"incomplete":[...]} (highest -1 when PC's result has none) or
 * {"error":"..."}.
 */
public class PCMap {
    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            int tab = line.indexOf('\t');
            try {
                long committed = Long.parseLong(tab < 0 ? line : line.substring(0, tab));
                String meta = tab < 0 ? "" : line.substring(tab + 1);
                HighestOffsetAndIncompletes r = OffsetMapCodecManager.deserialiseIncompleteOffsetMapFromBase64(committed, meta);
                var inc = new StringJoiner(",", "[", "]");
                for (long o : r.getIncompleteOffsets()) {
                    inc.add(Long.toString(o));
                }
                System.out.println("{\"highest\":" + r.getHighestSeenOffset().orElse(-1L) + ",\"incomplete\":" + inc + "}");
            } catch (Throwable t) {
                String msg = String.valueOf(t).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
                System.out.println("{\"error\":\"" + msg + "\"}");
            }
        }
    }
}
