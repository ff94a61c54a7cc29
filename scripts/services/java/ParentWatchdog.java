import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another main class and exits when standard input reaches end-of-file.
 *
 * <p>scripts/services/services.ts starts private (test-owned) service JVMs through this class with stdin
 * connected to a pipe it never writes to. When the owning Node process goes away, for whatever reason
 * (including SIGKILL), the kernel closes the pipe, this thread reads EOF and the JVM exits instead of
 * lingering as an orphan that holds the test's ports.
 *
 * <pre>java -cp 'classes:lib/*' ParentWatchdog some.Main [args...]</pre>
 */
public final class ParentWatchdog {
    private static final long HALT_AFTER_MS = 10_000;

    private ParentWatchdog() {}

    public static void main(String[] args) throws Throwable {
        if (args.length < 1) {
            System.err.println("usage: ParentWatchdog <main class> [args...]");
            System.exit(2);
        }
        Thread watchdog = new Thread(ParentWatchdog::watchStdin, "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        Method main = Class.forName(args[0]).getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static void watchStdin() {
        InputStream in = System.in;
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // Nothing is ever written; keep reading until EOF.
            }
        } catch (IOException e) {
            // A broken stdin means the same thing: the owner is gone.
        }
        System.err.println("ParentWatchdog: owner process gone (stdin closed), exiting");
        Thread halter = new Thread(() -> {
            try {
                Thread.sleep(HALT_AFTER_MS);
            } catch (InterruptedException ignored) {
                // Exit now.
            }
            Runtime.getRuntime().halt(1);
        }, "parent-watchdog-halt");
        halter.setDaemon(true);
        halter.start();
        System.exit(1);
    }
}
