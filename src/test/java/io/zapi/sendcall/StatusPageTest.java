package io.zapi.sendcall;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The status page (GET /) in a real browser: Debian's headless Chromium driven by Selenium through Debian's
 * chromedriver, against the running module, its GET /files and file actions, and WireMock as Z-API. The page is
 * followed while a slow file runs, paused and cancelled by its buttons, and the records that follow are read from
 * disk; a wrong key brings the key form back; hostile file names and values are shown as text.
 */
class StatusPageTest {

    private static final String API_KEY = "status-page-test-key-0123456789";
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dataDir;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    @Test
    void pageIsServedWithoutKeyWithItsSecurityHeaders() throws Exception {
        ZapiStub zapi = open(new ZapiStub());
        RunningModule module = open(RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.http.api-key", API_KEY)));

        HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(URI.create(base(module) + "/"))
                .header("Accept", "text/html").GET().build(), HttpResponse.BodyHandlers.ofString());

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(page.headers().firstValue("X-Frame-Options")).hasValue("DENY");
        assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-store");
        String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertThat(csp).contains("default-src 'none'", "script-src 'sha256-", "style-src 'sha256-",
                "connect-src 'self'", "frame-ancestors 'none'").doesNotContain("unsafe-inline", "unsafe-eval", "*");
        // the page holds no data: no file, no key, nothing the module knows
        assertThat(page.body()).startsWith("<!DOCTYPE html>").contains("<script>").doesNotContain(API_KEY);
        // no external asset: nothing loaded from another origin
        assertThat(page.body()).doesNotContain("http://", "https://", "src=\"");

        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(base(module) + "/"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    @Test
    void followsASlowFilePausesAndCancelsIt() throws Exception {
        ZapiStub zapi = open(new ZapiStub());
        RunningModule module = open(RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.http.api-key", API_KEY, "zapi.rate-limit", "2", "zapi.concurrency", "1")));
        ChromeDriver browser = open(browser());
        int rows = 60;
        module.drop("campaign.csv", slowCsv(rows));

        browser.get(base(module) + "/");
        typeKey(browser, API_KEY);
        WebElement bar = new WebDriverWait(browser, WAIT).until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("section[data-file$='-campaign.csv'] progress")));
        String file = bar.findElement(By.xpath("./ancestor::section")).getAttribute("data-file");
        assertThat(file).matches("\\d{8}-\\d{9}-campaign\\.csv");
        // the bar moves while the file runs: a value above the first one seen, while calls are still being placed
        double first = value(bar);
        await().atMost(WAIT).until(() -> value(section(browser, file).findElement(By.tagName("progress"))) > first);
        assertThat(zapi.allRequests()).hasSizeLessThan(rows);
        assertThat(section(browser, file).findElement(By.cssSelector("[data-role=outcomes]")).getText())
                .contains("success: ");

        button(browser, file, "pause").click();
        await().atMost(WAIT).until(() -> "paused".equals(section(browser, file).getAttribute("data-state")));
        int afterPause = callsOnceSettled(zapi);
        // paused: Z-API gets no call for a while (the page keeps polling meanwhile)
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10))
                .until(() -> zapi.allRequests().size() == afterPause);
        assertThat(afterPause).isLessThan(rows);
        assertThat(button(browser, file, "resume").isEnabled()).isTrue();
        assertThat(button(browser, file, "pause").isEnabled()).isFalse();
        screenshot(browser, Path.of("target", "status-page.png"));

        button(browser, file, "cancel").click();
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.alertIsPresent()).accept();
        await().atMost(WAIT).until(() -> "cancelled".equals(section(browser, file).getAttribute("data-state")));

        // every row one record: the rows called before the pause are successes, the others cancelled, never called
        List<JsonNode> records = module.awaitRecords("campaign.csv", rows);
        long successes = records.stream().filter(r -> "success".equals(r.path("outcome").asText())).count();
        long cancelled = records.stream().filter(r -> "cancelled".equals(r.path("outcome").asText())).count();
        assertThat(successes).isEqualTo(afterPause);
        assertThat(cancelled).isEqualTo(rows - afterPause);
        assertThat(RunningModule.recordFiles(dataDir.resolve("outbox")).stream()
                .filter(f -> f.getParent().getFileName().toString().equals("cancelled")).count())
                .isEqualTo(rows - afterPause);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> zapi.allRequests().size() == afterPause);
        // the page says so: its buttons are off for a file that ended
        assertThat(button(browser, file, "cancel").isEnabled()).isFalse();
        assertThat(section(browser, file).findElement(By.cssSelector("[data-outcome=cancelled]")).getText())
                .isEqualTo("cancelled: " + (rows - afterPause));
    }

    @Test
    void aWrongKeyBringsTheKeyFormBack() throws Exception {
        ZapiStub zapi = open(new ZapiStub());
        RunningModule module = open(RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.http.api-key", API_KEY)));
        ChromeDriver browser = open(browser());
        module.drop("known.csv", "phone\n5511988880001\n");
        module.awaitRecords("known.csv", 1);

        browser.get(base(module) + "/");
        WebElement form = browser.findElement(By.id("key-form"));
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.visibilityOf(form));
        typeKey(browser, "not-the-key-of-this-module");
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.visibilityOf(form));
        assertThat(browser.findElement(By.id("status")).getText()).contains("missing or wrong");
        assertThat(browser.findElements(By.cssSelector("section[data-file]"))).isEmpty();
        assertThat(sessionKey(browser)).isNull();

        typeKey(browser, API_KEY);
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("section[data-file$='-known.csv']")));
        assertThat(form.isDisplayed()).isFalse();
        assertThat(sessionKey(browser)).isEqualTo(API_KEY);

        browser.findElement(By.id("forget-key")).click();
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.visibilityOf(form));
        assertThat(sessionKey(browser)).isNull();
        assertThat(browser.findElements(By.cssSelector("section[data-file]"))).isEmpty();
    }

    @Test
    void hostileNamesAndValuesAreShownAsText() throws Exception {
        ZapiStub zapi = open(new ZapiStub());
        RunningModule module = open(RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.http.api-key", API_KEY)));
        ChromeDriver browser = open(browser());
        String name = "<img src=x onerror=window.pwned=1>.csv";
        String phone = "<img src=y onerror=window.pwned=2>";
        module.drop(name, "phone\n5511988880002\n\"" + phone + "\"\n");
        module.awaitRecords(name, 2);

        browser.get(base(module) + "/");
        typeKey(browser, API_KEY);
        WebElement section = new WebDriverWait(browser, WAIT).until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("section[data-file$='onerror=window.pwned=1>.csv']")));
        await().atMost(WAIT).until(() -> !section.findElements(By.cssSelector("[data-role=failures] td")).isEmpty());

        assertThat(section.findElement(By.cssSelector("[data-role=original-name]")).getText()).isEqualTo(name);
        assertThat(section.findElement(By.cssSelector("[data-role=name]")).getText()).endsWith("-" + name);
        assertThat(section.findElement(By.cssSelector("[data-role=failures]")).getText()).contains(phone);
        assertThat(browser.findElements(By.tagName("img"))).isEmpty();
        assertThat(browser.executeScript("return window.pwned === undefined")).isEqualTo(true);
    }

    /** Headless Debian Chromium through Debian's chromedriver: both given, so Selenium Manager never downloads one. */
    private static ChromeDriver browser() {
        assertThat(new File(CHROMIUM)).as("Debian's chromium (apt-get install chromium, done by .ci/run)").isFile();
        assertThat(new File(CHROMEDRIVER)).as("Debian's chromedriver (apt-get install chromium-driver)").isFile();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        // root in a container: Chromium's sandbox needs user namespaces it does not get here
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static void typeKey(ChromeDriver browser, String key) {
        WebElement input = browser.findElement(By.id("api-key"));
        new WebDriverWait(browser, WAIT).until(ExpectedConditions.visibilityOf(input));
        input.clear();
        input.sendKeys(key);
        browser.findElement(By.id("key-submit")).click();
    }

    private static Object sessionKey(ChromeDriver browser) {
        return ((JavascriptExecutor) browser).executeScript(
                "return sessionStorage.getItem('zapi-send-call.api-key')");
    }

    private static WebElement section(ChromeDriver browser, String file) {
        for (WebElement section : browser.findElements(By.cssSelector("section[data-file]"))) {
            if (file.equals(section.getAttribute("data-file"))) {
                return section;
            }
        }
        throw new AssertionError("the page shows no file " + file);
    }

    private static WebElement button(ChromeDriver browser, String file, String action) {
        return section(browser, file).findElement(By.cssSelector("button[data-action=" + action + "]"));
    }

    private static double value(WebElement progress) {
        return Double.parseDouble(progress.getDomProperty("value"));
    }

    /** The calls Z-API got, once the count has stayed the same over five looks 300 ms apart (calls in flight done). */
    private static int callsOnceSettled(ZapiStub zapi) {
        AtomicInteger last = new AtomicInteger(-1);
        AtomicInteger same = new AtomicInteger();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
            int now = zapi.allRequests().size();
            same.set(now == last.getAndSet(now) ? same.get() + 1 : 0);
            return same.get() >= 5;
        });
        return last.get();
    }

    /**
     * A CSV whose rows are long (an ignored note column): the file is some hundreds of KiB, so that the share of it
     * read, which runs up to 64 KiB ahead of the rows, moves while the rows are called.
     */
    private static String slowCsv(int rows) {
        StringBuilder csv = new StringBuilder("phone,note\n");
        String note = "x".repeat(6000);
        for (int i = 0; i < rows; i++) {
            csv.append(5511970000000L + i).append(',').append(note).append('\n');
        }
        return csv.toString();
    }

    private static void screenshot(ChromeDriver browser, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Path taken = browser.getScreenshotAs(OutputType.FILE).toPath();
        Files.move(taken, file, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String base(RunningModule module) {
        return "http://127.0.0.1:" + module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
    }

    private <T extends AutoCloseable> T open(T resource) {
        opened.add(resource);
        return resource;
    }

    private ChromeDriver open(ChromeDriver driver) {
        opened.add(driver::quit);
        return driver;
    }
}
