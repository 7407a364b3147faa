package io.zapi.sendcall.runtime;

import java.net.URI;
import java.net.URISyntaxException;
import java.security.SecureRandom;
import java.util.HexFormat;

import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.PropertiesFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.zapi.SandboxCallEvents;
import io.zapi.sendcall.zapi.ZapiSandbox;

/**
 * Sandbox mode is Camel Main's {@code sandbox} profile: {@code application-sandbox.properties} (in the jar) sets the
 * simulator's address and its made-up credentials, above application.properties and below anything the user sets
 * with -D or in the environment, so nothing the user set is rewritten. {@code zapi.sandbox=true} is the module's
 * name for that profile; {@code camel.main.profile=sandbox} does the same.
 */
public final class SandboxMode {

    static final String PROFILE = "sandbox";
    static final String CAMEL_PROFILE = "camel.main.profile";
    /** The module's webhook token (a secret): generated in sandbox mode unless the user set one. */
    static final String WEBHOOK_TOKEN = "zapi.webhook.token";
    /** Where the simulator posts its call events; the profile points it at the module's own webhook. */
    static final String WEBHOOK_URL = "zapi.sandbox.webhook-url";

    private static final Logger LOG = LoggerFactory.getLogger(SandboxMode.class);

    private SandboxMode() {
    }

    /** Before Camel Main reads any setting: the profile decides which settings files it reads. */
    public static void chooseProfile(Main main, EarlySettings settings) {
        String profile = settings.get(CAMEL_PROFILE);
        boolean sandbox = Boolean.parseBoolean(settings.get(ModuleConfiguration.SANDBOX));
        if (sandbox && profile != null && !profile.equals(PROFILE)) {
            throw new StartupException(ModuleConfiguration.SANDBOX + " is true, which runs the module with the "
                                       + PROFILE + " profile, but " + SettingsCheck.name(CAMEL_PROFILE) + " is "
                                       + profile + ": set one of them only.");
        }
        // Camel Main itself looks for camel.main.profile in -D and env only; this also covers application.properties
        if (sandbox || PROFILE.equals(profile)) {
            main.configure().setProfile(PROFILE);
            generateWebhookTokenUnlessSet(main, settings);
        }
    }

    /**
     * So that the simulator's call events reach the module's webhook with no setting: a random token, known to this
     * run only, unless the user set one (-D, env, application.properties). Masked like the other secrets before
     * anything can log it; an override, so that every reader of the setting sees the same value.
     */
    private static void generateWebhookTokenUnlessSet(Main main, EarlySettings settings) {
        if (settings.get(WEBHOOK_TOKEN) != null) {
            return;
        }
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        String token = HexFormat.of().formatHex(random);
        SecretMasking.register(token);
        main.addOverrideProperty(WEBHOOK_TOKEN, token);
    }

    /**
     * Starts the simulator when zapi.sandbox is true (the profile sets it), on loopback at zapi.sandbox.port. Its
     * address is known only now (port 0 is any free port): the profile's zapi.base-url asks for it with
     * {@code {{sandbox:base-url}}}, which this resolves. A zapi.base-url of the user's own is never replaced: the
     * sandbox refuses to start rather than let calls go somewhere else.
     */
    public static void startIfWanted(CamelContext context) {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (!Settings.isTrue(properties, ModuleConfiguration.SANDBOX)) {
            properties.addPropertiesFunction(new BaseUrl(null));
            return;
        }
        String webhookUrl = Settings.get(properties, WEBHOOK_URL);
        SandboxCallEvents events = webhookUrl == null ? null
                : new SandboxCallEvents(webhookUri(webhookUrl),
                        Settings.get(properties, ModuleConfiguration.INSTANCE_ID));
        String port = Settings.getOr(properties, ModuleConfiguration.SANDBOX_PORT, "0");
        ZapiSandbox sandbox;
        try {
            sandbox = ZapiSandbox.start(Integer.parseInt(port),
                    Settings.get(properties, ModuleConfiguration.INSTANCE_ID),
                    Settings.get(properties, ModuleConfiguration.INSTANCE_TOKEN),
                    Settings.get(properties, ModuleConfiguration.CLIENT_TOKEN),
                    Long.parseLong(Settings.getOr(properties, "zapi.http.response-timeout-ms", "30000")), events);
            context.addService(sandbox, true, true);
        } catch (Exception e) {
            throw new StartupException("The sandbox's Z-API simulator cannot start on 127.0.0.1 port " + port + " ("
                                       + SecretMasking.mask(String.valueOf(e.getMessage())) + "): set "
                                       + ModuleConfiguration.SANDBOX_PORT + " to a free port, or 0 for any.");
        }
        properties.addPropertiesFunction(new BaseUrl(sandbox));
        String baseUrl = Settings.get(properties, ModuleConfiguration.BASE_URL);
        if (!sandbox.baseUrl().equals(baseUrl)) {
            throw new StartupException(ModuleConfiguration.SANDBOX + " is true, but "
                                       + SettingsCheck.name(ModuleConfiguration.BASE_URL) + " is set to " + baseUrl
                                       + ": sandbox mode would send the calls there, not to its simulator. Unset it "
                                       + "to try the sandbox, or set " + ModuleConfiguration.SANDBOX + " to false.");
        }
        LOG.warn("*****************************************************************************");
        LOG.warn("SANDBOX MODE (zapi.sandbox=true): NO REAL CALL IS PLACED.");
        LOG.warn("Requests go to a Z-API simulator at {}, not to Z-API.", sandbox.baseUrl());
        LOG.warn("Phones ending in 0405, 0415, 0429, 0503, 0408 or 0000 show the other outcomes");
        LOG.warn("(README: Every outcome and event in the sandbox).");
        if (events != null) {
            LOG.warn("The simulator's call events are posted to {} (zapi.sandbox.webhook-url).", events.target());
        }
        LOG.warn("*****************************************************************************");
    }

    /** The events' address, refused at start unless it is an http(s) one; masked, as it may hold the token. */
    private static URI webhookUri(String url) {
        try {
            URI uri = new URI(url);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
                return uri;
            }
        } catch (URISyntaxException notAnAddress) {
            // refused below
        }
        throw new StartupException(SettingsCheck.name(WEBHOOK_URL) + " must be an http:// or https:// address, was \""
                                   + SecretMasking.mask(url) + "\": set it to where the sandbox's call events should "
                                   + "go, or leave it empty for none.");
    }

    /** {@code {{sandbox:base-url}}}: where the running simulator listens. */
    private record BaseUrl(ZapiSandbox sandbox) implements PropertiesFunction {

        @Override
        public String getName() {
            return PROFILE;
        }

        @Override
        public String apply(String remainder) {
            if (sandbox == null) {
                throw new StartupException(SettingsCheck.name(ModuleConfiguration.BASE_URL) + " is the sandbox's ({{"
                                           + PROFILE + ":" + remainder + "}}), but " + ModuleConfiguration.SANDBOX
                                           + " is false: set it to true, or set zapi.base-url to Z-API's address.");
            }
            return sandbox.baseUrl();
        }
    }
}
