/* The baseline of bench/snmp_poll.py: N GETs of one OID from one process with Net-SNMP's C
 * library, the way a user who needs speed polls. Built by the bench against libsnmp-dev.
 *
 *   netsnmp_get HOST:PORT OID N WINDOW 2c COMMUNITY
 *   netsnmp_get HOST:PORT OID N WINDOW 3 USER AUTHPASS PRIVPASS     (authPriv, SHA, AES-128)
 *
 * WINDOW 1 is synchronous (snmp_synch_response); more keeps that many requests in flight
 * (snmp_async_send and a select loop). Prints "ok=<n> failed=<n> seconds=<wall>".
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static oid get_oid[MAX_OID_LEN];
static size_t get_oid_len = MAX_OID_LEN;
static long sent, outstanding, ok, failed, total;

static double now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static netsnmp_pdu *request(void) {
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    snmp_add_null_var(pdu, get_oid, get_oid_len);
    return pdu;
}

static int on_reply(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic) {
    (void)sp; (void)reqid; (void)magic;
    outstanding--;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu->errstat == SNMP_ERR_NOERROR)
        ok++;
    else
        failed++;
    return 1;
}

static void fill(netsnmp_session *ss, long window) {
    while (outstanding < window && sent < total) {
        if (!snmp_async_send(ss, request(), on_reply, NULL)) {
            snmp_sess_perror("snmp_async_send", ss);
            exit(1);
        }
        sent++;
        outstanding++;
    }
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST:PORT OID N WINDOW 2c COMMUNITY | 3 USER AUTH PRIV\n", argv[0]);
        return 2;
    }
    total = atol(argv[3]);
    long window = atol(argv[4]);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    init_snmp("netsnmp_get");
    if (!read_objid(argv[2], get_oid, &get_oid_len)) {
        fprintf(stderr, "bad OID %s\n", argv[2]);
        return 2;
    }
    netsnmp_session session;
    snmp_sess_init(&session);
    session.peername = argv[1];
    session.timeout = 2000000;
    session.retries = 2;
    if (strcmp(argv[5], "2c") == 0) {
        session.version = SNMP_VERSION_2c;
        session.community = (u_char *)argv[6];
        session.community_len = strlen(argv[6]);
    } else {
        if (argc < 9) return 2;
        session.version = SNMP_VERSION_3;
        session.securityName = argv[6];
        session.securityNameLen = strlen(argv[6]);
        session.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
        session.securityAuthProto = usmHMACSHA1AuthProtocol;
        session.securityAuthProtoLen = USM_AUTH_PROTO_SHA_LEN;
        session.securityAuthKeyLen = USM_AUTH_KU_LEN;
        if (generate_Ku(session.securityAuthProto, session.securityAuthProtoLen,
                        (u_char *)argv[7], strlen(argv[7]), session.securityAuthKey,
                        &session.securityAuthKeyLen) != SNMPERR_SUCCESS) return 1;
        session.securityPrivProto = usmAESPrivProtocol;
        session.securityPrivProtoLen = USM_PRIV_PROTO_AES_LEN;
        session.securityPrivKeyLen = USM_PRIV_KU_LEN;
        if (generate_Ku(session.securityAuthProto, session.securityAuthProtoLen,
                        (u_char *)argv[8], strlen(argv[8]), session.securityPrivKey,
                        &session.securityPrivKeyLen) != SNMPERR_SUCCESS) return 1;
    }
    netsnmp_session *ss = snmp_open(&session);
    if (!ss) {
        snmp_sess_perror("snmp_open", &session);
        return 1;
    }
    netsnmp_pdu *warm = NULL; /* v3: engine discovery happens here, outside the timing */
    if (snmp_synch_response(ss, request(), &warm) != STAT_SUCCESS) return 1;
    snmp_free_pdu(warm);

    double t0 = now();
    if (window <= 1) {
        for (sent = 0; sent < total; sent++) {
            netsnmp_pdu *reply = NULL;
            if (snmp_synch_response(ss, request(), &reply) == STAT_SUCCESS &&
                reply->errstat == SNMP_ERR_NOERROR)
                ok++;
            else
                failed++;
            if (reply) snmp_free_pdu(reply);
        }
    } else {
        fill(ss, window);
        while (ok + failed < total) {
            int fds = 0, block = 1;
            fd_set fdset;
            struct timeval timeout;
            FD_ZERO(&fdset);
            snmp_select_info(&fds, &fdset, &timeout, &block);
            int n = select(fds, &fdset, NULL, NULL, block ? NULL : &timeout);
            if (n > 0) snmp_read(&fdset);
            else if (n == 0) snmp_timeout();
            fill(ss, window);
        }
    }
    printf("ok=%ld failed=%ld seconds=%.6f\n", ok, failed, now() - t0);
    snmp_close(ss);
    return failed ? 1 : 0;
}
