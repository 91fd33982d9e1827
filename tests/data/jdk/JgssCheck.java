/*
 * The JDK's own Kerberos against has-kdc: what Hadoop's UserGroupInformation does.
 *
 *   java -Djava.security.krb5.conf=KRB5_CONF JgssCheck CLIENT (-password | -keytab FILE)
 *        SERVICE SERVICE_KEYTAB
 *
 * Logs CLIENT in with JAAS's Krb5LoginModule (the password is read from standard input,
 * or the keys from FILE), logs SERVICE in from SERVICE_KEYTAB as an acceptor, and runs a
 * JGSS (Kerberos V5 mechanism) context establishment between the two with mutual
 * authentication, then wraps and unwraps one message each way. Prints one line per step;
 * the last is "OK <enctype of the service ticket's session key>". Exits 1 on any failure.
 * Written for the has-kdc test suite (tests/test_jdk_kerberos.py).
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.kerberos.KerberosTicket;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.MessageProp;
import org.ietf.jgss.Oid;

public final class JgssCheck {
    private static final Oid KRB5;

    static {
        try {
            KRB5 = new Oid("1.2.840.113554.1.2.2");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One JAAS entry, built here rather than in a jaas.conf file. */
    private static Configuration config(Map<String, String> options) {
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                return new AppConfigurationEntry[] {
                    new AppConfigurationEntry(
                        "com.sun.security.auth.module.Krb5LoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
                        options)
                };
            }
        };
    }

    private static Subject login(String principal, String keytab, char[] password, boolean initiator)
            throws Exception {
        Map<String, String> options = new HashMap<>();
        options.put("principal", principal);
        options.put("refreshKrb5Config", "true");
        options.put("isInitiator", Boolean.toString(initiator));
        if (keytab != null) {
            options.put("useKeyTab", "true");
            options.put("keyTab", keytab);
            options.put("storeKey", "true");
            options.put("doNotPrompt", "true");
        }
        LoginContext lc = new LoginContext("has-kdc", new Subject(), (Callback[] callbacks) -> {
            for (Callback cb : callbacks) {
                if (cb instanceof NameCallback) {
                    ((NameCallback) cb).setName(principal);
                } else if (cb instanceof PasswordCallback) {
                    ((PasswordCallback) cb).setPassword(password);
                }
            }
        }, config(options));
        lc.login();
        return lc.getSubject();
    }

    public static void main(String[] args) throws Exception {
        String client = args[0];
        boolean withPassword = args[1].equals("-password");
        int next = withPassword ? 2 : 3;
        String clientKeytab = withPassword ? null : args[2];
        String service = args[next];
        String serviceKeytab = args[next + 1];
        char[] password = null;
        if (withPassword) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            password = in.readLine().toCharArray();
        }
        Subject user = login(client, clientKeytab, password, true);
        KerberosTicket tgt = user.getPrivateCredentials(KerberosTicket.class).iterator().next();
        System.out.println("login " + client + " tgt " + tgt.getServer() + " etype " + tgt.getSessionKeyType());
        Subject server = login(service, serviceKeytab, null, false);
        System.out.println("login " + service + " (acceptor)");

        GSSManager manager = GSSManager.getInstance();
        GSSName target = manager.createName(service, GSSName.NT_USER_NAME);
        GSSContext initiator = Subject.doAs(user, (PrivilegedExceptionAction<GSSContext>) () -> {
            GSSContext ctx = manager.createContext(target, KRB5, null, GSSContext.DEFAULT_LIFETIME);
            ctx.requestMutualAuth(true);
            ctx.requestConf(true);
            ctx.requestInteg(true);
            return ctx;
        });
        GSSContext acceptor = Subject.doAs(server, (PrivilegedExceptionAction<GSSContext>) () -> {
            GSSCredential cred = manager.createCredential(
                manager.createName(service, GSSName.NT_USER_NAME),
                GSSCredential.INDEFINITE_LIFETIME, KRB5, GSSCredential.ACCEPT_ONLY);
            return manager.createContext(cred);
        });
        byte[] token = new byte[0];
        while (!initiator.isEstablished() || !acceptor.isEstablished()) {
            if (!initiator.isEstablished()) {
                final byte[] in = token;
                token = Subject.doAs(user,
                    (PrivilegedExceptionAction<byte[]>) () -> initiator.initSecContext(in, 0, in.length));
            }
            if (token != null && token.length > 0 && !acceptor.isEstablished()) {
                final byte[] in = token;
                token = Subject.doAs(server,
                    (PrivilegedExceptionAction<byte[]>) () -> acceptor.acceptSecContext(in, 0, in.length));
            }
        }
        if (!initiator.getMutualAuthState()) {
            throw new IllegalStateException("no mutual authentication");
        }
        System.out.println("context " + acceptor.getSrcName() + " -> " + initiator.getTargName());
        byte[] hello = "hello from the JDK".getBytes(StandardCharsets.UTF_8);
        MessageProp prop = new MessageProp(0, true);
        byte[] wrapped = initiator.wrap(hello, 0, hello.length, prop);
        byte[] unwrapped = acceptor.unwrap(wrapped, 0, wrapped.length, new MessageProp(0, true));
        byte[] back = acceptor.wrap(unwrapped, 0, unwrapped.length, new MessageProp(0, true));
        byte[] again = initiator.unwrap(back, 0, back.length, new MessageProp(0, true));
        if (!new String(again, StandardCharsets.UTF_8).equals("hello from the JDK")) {
            throw new IllegalStateException("wrap/unwrap changed the message");
        }
        KerberosTicket ticket = null;
        for (KerberosTicket t : user.getPrivateCredentials(KerberosTicket.class)) {
            if (t.getServer().getName().equals(service)) {
                ticket = t;
            }
        }
        System.out.println("OK " + (ticket == null ? "?" : ticket.getSessionKeyType()));
    }
}
