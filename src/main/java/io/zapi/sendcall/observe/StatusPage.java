package io.zapi.sendcall.observe;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.http.base.HttpHeaderFilterStrategy;

/**
 * The status page (routes/status-page.camel.yaml): one HTML file with its style and script inline, read once from the
 * class path. Its Content-Security-Policy lets that one script and that one style run by their SHA-256 hashes and
 * nothing else: no other script, no inline event handler (a file name such as {@code <img onerror=...>} that reached
 * the page as HTML would still not run), no framing, connections to this server only.
 */
public final class StatusPage {

    static final String RESOURCE = "status/index.html";
    private static final Pattern SCRIPT = Pattern.compile("<script>(.*?)</script>", Pattern.DOTALL);
    private static final Pattern STYLE = Pattern.compile("<style>(.*?)</style>", Pattern.DOTALL);

    private final String html;
    private final String contentSecurityPolicy;

    public StatusPage() {
        this.html = read(RESOURCE);
        this.contentSecurityPolicy = "default-src 'none'; script-src " + hashOfOne(SCRIPT, html)
                                     + "; style-src " + hashOfOne(STYLE, html)
                                     + "; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    public String html() {
        return html;
    }

    public String contentSecurityPolicy() {
        return contentSecurityPolicy;
    }

    /**
     * Camel's HTTP header filter, letting Cache-Control out: Camel keeps it (with Date, Pragma and other transport
     * headers) out of answers, and the page's no-store must reach the browser.
     */
    public static final class Headers extends HttpHeaderFilterStrategy {
        @Override
        protected void initialize() {
            super.initialize();
            getOutFilter().remove("cache-control");
        }
    }

    private static String read(String resource) {
        try (InputStream in = StatusPage.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the status page " + resource + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the status page " + resource, e);
        }
    }

    /** The CSP source of the page's one element of this kind: 'sha256-...' of its text, as the browser hashes it. */
    private static String hashOfOne(Pattern element, String html) {
        Matcher matcher = element.matcher(html);
        if (!matcher.find()) {
            throw new IllegalStateException("the status page has no " + element.pattern());
        }
        String text = matcher.group(1);
        if (matcher.find()) {
            throw new IllegalStateException("the status page has more than one " + element.pattern()
                                            + ": the Content-Security-Policy lets one run");
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return "'sha256-" + Base64.getEncoder().encodeToString(digest) + "'";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
