package io.zapi.sendcall.inbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.SecretMasking;

/**
 * The results file of one inbox file as it is written: one entry per request, in the input's order. Rows end in any
 * order (the split runs them in parallel): each is held until every row read before it has ended, then the run of
 * them is appended and flushed, so the file holds the input's order, is readable while it grows, and holds in memory
 * only the rows that ended ahead of a slower one. A file that cannot be written (a full disk) is given up with one
 * warning: the rows go on, their records and report are not affected.
 */
public final class ResultsFile implements AutoCloseable {

    /** A .results.csv or a .results.jsonl file. */
    enum Format {
        CSV(".results.csv"), JSONL(".results.jsonl");

        final String suffix;

        Format(String suffix) {
            this.suffix = suffix;
        }

        static Format of(String name) {
            return name.endsWith(CSV.suffix) ? CSV : JSONL;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ResultsFile.class);
    private static final CsvMapper CSV_MAPPER = CsvMapper.builder()
            // quoted, as OWASP advises for cells that reach a spreadsheet; numbers stay numbers
            .enable(CsvGenerator.Feature.ALWAYS_QUOTE_STRINGS).build();
    private static final CsvSchema CSV_SCHEMA = CsvSchema.builder().addColumns(ResultLine.COLUMNS,
            CsvSchema.ColumnType.STRING).build().withoutHeader().withLineSeparator("\n");
    private static final CsvSchema CSV_READ_SCHEMA = CsvSchema.emptySchema().withHeader();

    private final String name;
    private final Path path;
    private final Format format;
    /** The rows ended ahead of one read before them, by their place in the reading (the split's index). */
    private final TreeMap<Long, ResultLine> ended = new TreeMap<>();
    private Writer out;
    private SequenceWriter csv;
    private long next;
    /** Set once a write failed: the file was given up. */
    private boolean failed;

    private ResultsFile(String name, Path path, Writer out) throws IOException {
        this.name = name;
        this.path = path;
        this.format = Format.of(name);
        this.out = out;
        if (out != null && format == Format.CSV) {
            out.write(String.join(",", ResultLine.COLUMNS) + "\n");
            csv = CSV_MAPPER.writer(CSV_SCHEMA).without(SerializationFeature.FLUSH_AFTER_WRITE_VALUE).writeValues(out);
        }
    }

    /**
     * Opens the file for writing from its start. A new drop's results file must not exist yet: one that does belongs
     * to another drop and is never overwritten (the entries of this one are then not written, and a warning says so);
     * a resumed drop's is written again from its start.
     */
    static ResultsFile open(Path folder, String name, boolean resumed) {
        Path path = folder.resolve(name);
        try {
            Files.createDirectories(folder);
            OpenOption[] options = resumed
                    ? new OpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                                        StandardOpenOption.WRITE}
                    : new OpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE};
            return new ResultsFile(name, path, Files.newBufferedWriter(path, StandardCharsets.UTF_8, options));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            LOG.warn("{}: a results file of this name exists already, of another drop: it is left as it is, and this "
                     + "drop has no results file (its records and report are written)", name);
        } catch (IOException e) {
            LOG.warn("{}: the results file could not be made in {}: {}; the file's requests go on, with their "
                     + "records and report", name, folder, SecretMasking.mask(String.valueOf(e.getMessage())));
        }
        return new ResultsFile(name, path);
    }

    /** One that writes nothing. */
    private ResultsFile(String name, Path path) {
        this.name = name;
        this.path = path;
        this.format = Format.of(name);
    }

    /** The file's name, {@code <kept name>.results.csv} or {@code .results.jsonl}. */
    public String name() {
        return name;
    }

    Path path() {
        return path;
    }

    /** The row at this place in the reading (0 for the first row read) has ended with this entry. */
    synchronized void add(long position, ResultLine line) {
        if (out == null) {
            return;
        }
        ended.put(position, line);
        boolean appended = false;
        try {
            while (!ended.isEmpty() && ended.firstKey() == next) {
                write(ended.pollFirstEntry().getValue());
                next++;
                appended = true;
            }
            if (appended) {
                flush();
            }
        } catch (IOException e) {
            giveUp(e);
        }
    }

    /**
     * The file's reading is over: what is held is written in its order (rows not ended are not there: a resumed
     * drop writes the file again), and the file is closed. Again is a no-op.
     */
    @Override
    public synchronized void close() {
        if (out == null) {
            return;
        }
        try {
            for (ResultLine line : ended.values()) {
                write(line);
            }
            ended.clear();
            flush();
            if (csv != null) {
                csv.close();
            }
            out.close();
        } catch (IOException e) {
            giveUp(e);
        }
        out = null;
    }

    private void write(ResultLine line) throws IOException {
        if (csv != null) {
            csv.write(line.csvCells());
        } else {
            out.write(line.toJson());
            out.write('\n');
        }
    }

    private void flush() throws IOException {
        if (csv != null) {
            csv.flush();
        }
        out.flush();
    }

    private void giveUp(IOException e) {
        LOG.warn("{}: the results file could not be written any further: {}; the file's requests go on, with their "
                 + "records and report", name, SecretMasking.mask(String.valueOf(e.getMessage())));
        try {
            out.close();
        } catch (IOException ignored) {
            // it is given up already
        }
        out = null;
        csv = null;
        failed = true;
        ended.clear();
    }

    /**
     * Writes the file again with these entries changed (by their index; 0 for one without), through a hidden
     * temporary file renamed over it in one step: a reader sees the old file or the new one, whole. The file is
     * streamed, not held.
     */
    static void rewrite(Path path, Map<Long, ResultLine> changed) throws IOException {
        String name = path.getFileName().toString();
        Path temporary = path.resolveSibling("." + name + ".tmp");
        try {
            ResultsFile rewritten = new ResultsFile(name, temporary, Files.newBufferedWriter(temporary,
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE));
            try {
                long[] position = {0};
                each(path, line -> {
                    ResultLine replacement = changed.get(line.index() == null ? 0L : line.index().longValue());
                    rewritten.add(position[0]++, replacement != null ? replacement : line);
                });
            } finally {
                rewritten.close();
            }
            if (rewritten.failed) {
                throw new IOException("the temporary file " + temporary + " could not be written");
            }
            Files.move(temporary, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Each entry of a results file, in its order. */
    static void each(Path path, Consumer<ResultLine> entry) throws IOException {
        if (Format.of(path.getFileName().toString()) == Format.CSV) {
            try (MappingIterator<Map<String, String>> rows = CSV_MAPPER.readerForMapOf(String.class)
                    .with(CSV_READ_SCHEMA).readValues(path.toFile())) {
                while (rows.hasNextValue()) {
                    entry.accept(ResultLine.fromCsv(rows.nextValue()));
                }
            }
        } else {
            try (BufferedReader lines = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    if (!line.isBlank()) {
                        entry.accept(ResultLine.fromJson(line));
                    }
                }
            }
        }
    }
}
