package io.zapi.sendcall.inbox;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for each entry the inbox poller lists, before anything is opened or locked:
 * <ul>
 * <li>An entry that is not a regular file (a FIFO, a socket or device, a symbolic link, a folder) is never read:
 * opening a FIFO blocks until someone writes to it, for good if nobody does, and a link would read whatever it points
 * to. It is moved as it is (a link as a link) to .error/ under the kept name, and direct:inbox-set-aside writes one
 * rejected record and a report saying why.</li>
 * <li>Camel's file component takes a backslash in a file name for a path separator, even on Linux where it is an
 * ordinary character: "x\..\..\y.json" becomes "x/../../y.json", a path that leaves the inbox. The original could then
 * never be moved to .done/ or .error/ and would be read again at every poll. Such a file is renamed in place first,
 * each backslash becoming "_", and read under that name at the next poll.</li>
 * </ul>
 */
public class InboxFileFilter implements GenericFileFilter<File>, CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(InboxFileFilter.class);
    private static final DateTimeFormatter KEPT_PREFIX = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmssSSS");
    /** The mode bits of a file's type (stat's S_IFMT) and those of a FIFO, a socket, devices. */
    private static final int TYPE_BITS = 0170000;

    private CamelContext camelContext;
    private ProducerTemplate producer;

    @Override
    public boolean accept(GenericFile<File> file) {
        Path path = file.getFile().toPath();
        String name = path.getFileName().toString();
        // a file still being written (.part, .tmp) or hidden is not read, so not renamed or moved either: its writer
        // still has to rename it (the route's exclude option and Camel's hidden-file rule then leave it alone)
        if (name.startsWith(".") || name.endsWith(".part") || name.endsWith(".tmp")) {
            return !file.isDirectory();
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            // gone since it was listed
            return false;
        }
        if (!attributes.isRegularFile()) {
            setAside(path, name, attributes);
            return false;
        }
        if (name.indexOf('\\') < 0) {
            return true;
        }
        String safe = name.replace('\\', '_');
        Path target = path.resolveSibling(safe);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            safe = RequestFiles.fit("renamed-" + System.nanoTime() + "-" + safe, RequestFiles.MAX_NAME_BYTES);
            target = path.resolveSibling(safe);
        }
        try {
            Files.move(path, target, StandardCopyOption.ATOMIC_MOVE);
            LOG.warn("Inbox file {} renamed to {}: a backslash in a file name reads as a path separator", name, safe);
        } catch (IOException e) {
            LOG.warn("Inbox file {} is left unread: a backslash in its name reads as a path separator, and it could "
                     + "not be renamed: {}", name, e.getMessage());
        }
        return false;
    }

    /** Moves the entry, unopened and unfollowed, to .error/, then has its record and report written. */
    private void setAside(Path path, String name, BasicFileAttributes attributes) {
        String reason = what(path, attributes) + "; moved to inbox/.error/ unread";
        String prefix = LocalDateTime.now().format(KEPT_PREFIX);
        Path kept = path.resolveSibling(".error")
                .resolve(prefix + "-" + RequestFiles.fit(name, RequestFiles.MAX_NAME_BYTES - RequestFiles.KEPT_PREFIX_BYTES));
        try {
            // a rename: moves a link itself, a FIFO without opening it, a folder with what it holds
            Files.move(path, kept, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            LOG.warn("Inbox entry {} is left where it is: it is {}, and it could not be moved to inbox/.error/: {}",
                     name, what(path, attributes), e.getMessage());
            return;
        }
        try {
            producer().send("direct:inbox-set-aside", exchange -> {
                exchange.getMessage().setHeader(Exchange.FILE_NAME, name);
                exchange.setProperty(FileReport.KEPT_PREFIX, prefix);
                exchange.setProperty("setAsideReason", reason);
            });
        } catch (RuntimeException e) {
            LOG.warn("Inbox entry {} was moved to inbox/.error/ ({}), but its record could not be written: {}", name,
                     reason, e.getMessage());
        }
    }

    private static String what(Path path, BasicFileAttributes attributes) {
        if (attributes.isSymbolicLink()) {
            return "a symbolic link: not followed";
        }
        if (attributes.isDirectory()) {
            return "a folder: files in folders under the inbox are not read";
        }
        return "not a regular file: " + specialKind(path);
    }

    private static String specialKind(Path path) {
        try {
            int type = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) & TYPE_BITS;
            return switch (type) {
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                case 0020000, 0060000 -> "a device";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file";
        }
    }

    private synchronized ProducerTemplate producer() {
        if (producer == null) {
            producer = camelContext.createProducerTemplate();
        }
        return producer;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }
}
