package io.zapi.sendcall.inbox;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.UnaryOperator;

/**
 * The rows of an inbox file, read a batch ahead and handed out once the batch is checked (zapi.precheck): memory
 * holds one batch, whatever the file's size. The split iterates it as it iterates the file itself, and closes it.
 * <p>
 * The file's progress ({@link RequestFile#getBytesRead()}) runs up to one batch ahead of the rows handed out.
 */
final class PrecheckedRows implements Iterator<RequestRow>, Closeable {

    private final RequestFile file;
    private final int batchSize;
    private final UnaryOperator<List<RequestRow>> check;
    private final ArrayDeque<RequestRow> ahead = new ArrayDeque<>();

    /** @param check the batch's rows as they are to be handed out, in the same order, with what the check found */
    PrecheckedRows(RequestFile file, int batchSize, UnaryOperator<List<RequestRow>> check) {
        this.file = file;
        this.batchSize = batchSize;
        this.check = check;
    }

    @Override
    public synchronized boolean hasNext() {
        if (ahead.isEmpty()) {
            List<RequestRow> batch = new ArrayList<>(Math.min(batchSize, 1024));
            while (batch.size() < batchSize && file.hasNext()) {
                batch.add(file.next());
            }
            if (!batch.isEmpty()) {
                ahead.addAll(check.apply(batch));
            }
        }
        // rows read ahead are not handed out once the module stops (the check may have taken a while): the file is
        // interrupted and stays in the inbox, and those rows are read again when it is resumed
        if (!ahead.isEmpty() && file.interruptIfStopping()) {
            ahead.clear();
        }
        return !ahead.isEmpty();
    }

    @Override
    public synchronized RequestRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ahead.poll();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
