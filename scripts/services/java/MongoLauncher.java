import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;

import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a mongo-java-server (Mongo wire protocol) until the process is killed: in memory, or with
 * --data-file on the H2 (MVStore) backend, committed after every command so that even a SIGKILL loses
 * nothing a client was told is written (the commit reaches the OS; a power cut is another matter).
 *
 * <p>Compiled at fetch time by scripts/services/services.ts against the jars listed in
 * scripts/services/mongo/pom.xml. Usage:
 *
 * <pre>java -cp 'classes:lib/*' MongoLauncher [--host 127.0.0.1] [--port 27027] [--server-version 4.4] [--data-file f.mv]</pre>
 *
 * <p>--server-version picks the version and wire version the server reports in hello/buildInfo.
 * mongo-java-server's own ServerVersion enum tops out at wire version 8 (even MONGO_5_0), and the Node
 * driver 7.x refuses servers below wire version 9 (MongoDB 4.4). The backend only uses the version for
 * these reports, so a custom MongoVersion is enough. Default: 4.4 (wire 9), the lowest the driver accepts.
 */
public final class MongoLauncher {
    private MongoLauncher() {}

    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = 27027;
        String version = "4.4";
        String dataFile = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (i + 1 >= args.length) {
                usage("missing value for " + arg);
            }
            String value = args[++i];
            switch (arg) {
                case "--host":
                    host = value;
                    break;
                case "--port":
                    port = Integer.parseInt(value);
                    break;
                case "--server-version":
                    version = value;
                    break;
                case "--data-file":
                    dataFile = value;
                    break;
                default:
                    usage("unknown argument " + arg);
            }
        }

        ReportedVersion serverVersion;
        switch (version) {
            case "4.2":
                serverVersion = new ReportedVersion(4, 2, 8);
                break;
            case "4.4":
                serverVersion = new ReportedVersion(4, 4, 9);
                break;
            case "5.0":
                serverVersion = new ReportedVersion(5, 0, 13);
                break;
            case "6.0":
                serverVersion = new ReportedVersion(6, 0, 17);
                break;
            default:
                usage("unsupported --server-version " + version + " (4.2, 4.4, 5.0 or 6.0)");
                return;
        }

        MongoBackend backend = dataFile == null ? new MemoryBackend() : new CommittingH2Backend(dataFile);
        MongoServer server = new MongoServer(backend.version(serverVersion));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MongoLauncher shutting down");
            server.shutdownNow();
            stopped.countDown();
        }, "mongo-launcher-shutdown"));

        server.bind(host, port);
        System.out.println("MongoLauncher listening on " + host + ":" + port + " (server version " + version
                + ", wire version " + serverVersion.getWireVersion() + ", "
                + (dataFile == null ? "in memory" : "data in " + dataFile) + ")");
        System.out.flush();
        stopped.await();
    }

    /**
     * H2Backend leaves committing to MVStore's background auto-commit (about once a second): a SIGKILL
     * would drop the last second of acknowledged writes. Commit before answering instead.
     */
    private static final class CommittingH2Backend extends H2Backend {
        CommittingH2Backend(String fileName) {
            super(fileName);
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            try {
                return super.handleCommand(channel, databaseName, command, query);
            } finally {
                commitIfChanged();
            }
        }

        @Override
        public Document handleMessage(MongoMessage message) {
            try {
                return super.handleMessage(message);
            } finally {
                commitIfChanged();
            }
        }

        private void commitIfChanged() {
            if (getMvStore().hasUnsavedChanges()) commit();
        }
    }

    /** The version reported to clients: major.minor.0 and its wire version. */
    private static final class ReportedVersion implements MongoVersion {
        private final List<Integer> versionArray;
        private final int wireVersion;

        ReportedVersion(int major, int minor, int wireVersion) {
            this.versionArray = List.of(major, minor, 0);
            this.wireVersion = wireVersion;
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    private static void usage(String message) {
        System.err.println("MongoLauncher: " + message);
        System.err.println("usage: MongoLauncher [--host 127.0.0.1] [--port 27027] [--server-version 4.2|4.4|5.0|6.0] [--data-file f.mv]");
        System.exit(2);
    }
}
