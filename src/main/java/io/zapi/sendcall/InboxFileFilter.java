package io.zapi.sendcall;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Camel's file component takes a backslash in a file name for a path separator, even on Linux where it is an ordinary
 * character: "x\..\..\y.json" becomes "x/../../y.json", a path that leaves the inbox. The original could then never
 * be moved to .done/ or .error/ and would be read again at every poll. Such a file is renamed in place first, each
 * backslash becoming "_", and read under that name at the next poll.
 */
public class InboxFileFilter implements GenericFileFilter<File> {

    private static final Logger LOG = LoggerFactory.getLogger(InboxFileFilter.class);

    @Override
    public boolean accept(GenericFile<File> file) {
        if (file.isDirectory()) {
            return true;
        }
        Path path = file.getFile().toPath();
        String name = path.getFileName().toString();
        // a file still being written (.part, .tmp) or hidden is not read, so not renamed either: its writer still
        // has to rename it (the route's exclude option and Camel's hidden-file rule then leave it alone)
        if (name.indexOf('\\') < 0 || name.startsWith(".") || name.endsWith(".part") || name.endsWith(".tmp")) {
            return true;
        }
        String safe = name.replace('\\', '_');
        Path target = path.resolveSibling(safe);
        if (Files.exists(target)) {
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
}
