import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import kotlin.sequences.Sequence;
import kotlin.sequences.SequencesKt;
import kotlinx.validation.api.ClassBinarySignature;
import kotlinx.validation.api.KotlinSignaturesLoadingKt;

/**
 * Writes the public API of compiled classes in Kotlin's binary-compatibility-validator format: public and protected
 * classes and members as the JVM sees them, without Kotlin `internal` declarations, synthetic classes, or the
 * packages listed as non-public. One JVM for all modules, as each start costs seconds.
 * Usage: java -cp CLASSPATH ApiDump.java OUT_DIR NON_PUBLIC_PACKAGES(comma-separated) NAME=CLASSES_DIR...
 * writes OUT_DIR/NAME.api for each NAME.
 */
public final class ApiDump {
    public static void main(String[] args) throws IOException {
        Path outDir = Path.of(args[0]);
        List<String> nonPublic = List.of(args[1].split(","));
        for (String spec : List.of(args).subList(2, args.length)) {
            String name = spec.substring(0, spec.indexOf('='));
            Path classes = Path.of(spec.substring(spec.indexOf('=') + 1));
            Files.writeString(outDir.resolve(name + ".api"), dump(classes, nonPublic));
        }
    }

    static String dump(Path classes, List<String> nonPublic) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            files = walk.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
        List<InputStream> streams = new ArrayList<>();
        try {
            for (Path file : files) streams.add(Files.newInputStream(file));
            Sequence<InputStream> sequence = SequencesKt.asSequence(streams.iterator());
            List<ClassBinarySignature> api = KotlinSignaturesLoadingKt.loadApiFromJvmClasses(sequence, name -> true);
            api = KotlinSignaturesLoadingKt.filterOutNonPublic(api, nonPublic, List.of());
            return KotlinSignaturesLoadingKt.dump(api, new StringBuilder()).toString();
        } finally {
            for (InputStream s : streams) s.close();
        }
    }
}
