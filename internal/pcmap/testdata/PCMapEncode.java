import io.confluent.parallelconsumer.offsets.OffsetSimultaneousEncoder;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.TreeSet;

/**
 * Encodes offset maps with Parallel Consumer's own encoder, every encoding it
 * makes, packed as PC packs a commit (magic byte, then the encoding) and in
 * base64. Each argument is "base:highest:inc1,inc2,..."; each stdout line is
 * "case TAB encoding TAB committedOffset TAB metadata".
 */
public class PCMapEncode {
    public static void main(String[] args) throws Exception {
        for (int c = 0; c < args.length; c++) {
            String[] f = args[c].split(":", -1);
            long base = Long.parseLong(f[0]), highest = Long.parseLong(f[1]);
            var inc = new TreeSet<Long>();
            for (String s : f[2].split(",")) {
                if (!s.isEmpty()) inc.add(Long.parseLong(s));
            }
            var enc = new OffsetSimultaneousEncoder(base, highest, inc).invoke();
            for (var e : enc.getEncodingMap().entrySet()) {
                byte[] data = e.getValue();
                ByteBuffer packed = ByteBuffer.allocate(1 + data.length);
                packed.put(e.getKey().getMagicByte()).put(data);
                System.out.println(c + "\t" + e.getKey().name() + "\t" + base + "\t" + Base64.getEncoder().encodeToString(packed.array()));
            }
        }
    }
}
