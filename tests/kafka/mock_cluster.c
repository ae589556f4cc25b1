/*
 * mock_cluster.c — a throwaway Kafka cluster for the tests: librdkafka's mock brokers
 * (rdkafka_mock.h) behind real TCP listeners on 127.0.0.1, so that sluice and kcat
 * talk to it like to any cluster.
 *
 *   kafka_mock_cluster [-b brokers] [-p partitions] [-i] [topic ...]
 *
 * Prints the bootstrap list ("127.0.0.1:p1,127.0.0.1:p2,...") as the first line on
 * standard output, then runs until SIGTERM or SIGINT. Topics named on the command
 * line are created with -p partitions (default 3) and replication factor
 * min(3, brokers); other topics are auto-created by the mock on first use (with
 * librdkafka's mock default of 4 partitions). Data lives in memory only.
 *
 * With -i, commands are read from standard input, one per line, to inject faults
 * ("ok" or "error ..." is answered on standard output):
 *   down <broker id>          the broker closes its connections and refuses new ones
 *   up <broker id>
 *   rtt <broker id> <ms>      delay every response of the broker
 *   topic <name> <partitions> create a topic
 *
 * Default: 3 brokers (ids 1..3).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

static void command(rd_kafka_mock_cluster_t *mc, char *line)
{
    char name[256];
    int a, b;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "down %d", &a) == 1)
        e = rd_kafka_mock_broker_set_down(mc, a);
    else if (sscanf(line, "up %d", &a) == 1)
        e = rd_kafka_mock_broker_set_up(mc, a);
    else if (sscanf(line, "rtt %d %d", &a, &b) == 2)
        e = rd_kafka_mock_broker_set_rtt(mc, a, b);
    else if (sscanf(line, "topic %255s %d", name, &a) == 2)
        e = rd_kafka_mock_topic_create(mc, name, a, 3);
    else {
        printf("error: unknown command\n");
        fflush(stdout);
        return;
    }
    if (e)
        printf("error: %s\n", rd_kafka_err2str(e));
    else
        printf("ok\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int brokers = 3, partitions = 3, interactive = 0, opt;
    while ((opt = getopt(argc, argv, "b:p:i")) != -1) {
        switch (opt) {
        case 'b': brokers = atoi(optarg); break;
        case 'p': partitions = atoi(optarg); break;
        case 'i': interactive = 1; break;
        default:
            fprintf(stderr, "usage: %s [-b brokers] [-p partitions] [-i] [topic ...]\n", argv[0]);
            return 2;
        }
    }
    if (brokers < 1 || partitions < 1) {
        fprintf(stderr, "mock_cluster: -b and -p must be at least 1\n");
        return 2;
    }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the mock cluster; it never connects anywhere. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock_cluster: %s\n", errstr);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "mock_cluster: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mock_cluster: could not create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int rf = brokers < 3 ? brokers : 3;
    for (int i = optind; i < argc; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, argv[i], partitions, rf);
        if (e) {
            fprintf(stderr, "mock_cluster: topic %s: %s\n", argv[i], rd_kafka_err2str(e));
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return 1;
        }
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[512];
    while (!stop) {
        if (interactive) {
            if (fgets(line, sizeof line, stdin))
                command(mc, line);
            else
                interactive = 0; /* EOF: keep serving until a signal */
        } else
            pause();
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
