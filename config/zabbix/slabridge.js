// slabridge webhook media type for Zabbix 6.0 / 6.4 / 7.x (Duktape, ECMAScript 5).
//
// Zabbix passes the media type's parameters as the JSON string `value`. This script turns
// them into slabridge's Zabbix JSON (format "1", documented in config/zabbix/README.md) and
// POSTs it with `Authorization: Bearer <slabridge_token>` to `slabridge_url`, and nowhere else.
//
// Normalisation happens here so the receiving parser can be strict:
//   * times come from the {EVENT.*TIMESTAMP} Unix-time macros and are sent as RFC 3339 UTC,
//     because {EVENT.DATE}/{EVENT.TIME} are server-local times without an offset;
//   * enumerations are sent as integers, ids as digit strings (uint64 > 2^53 in JS numbers
//     would lose precision), the acknowledgement flag as a boolean, tags as an array;
//   * a macro that Zabbix left unexpanded (e.g. {EVENT.RECOVERY.ID} in a problem message)
//     counts as absent.
// Any failure throws: Zabbix then marks the attempt failed and retries it according to the
// media type's "Attempts" and "Attempt interval" settings.

var SlaBridge = {
    MACRO: /^\{[$A-Z0-9_.:#"\[\] ]+\}$/,

    text: function (params, name) {
        var v = params[name];
        if (typeof v !== 'string') {
            return null;
        }
        v = v.trim();
        if (v === '' || SlaBridge.MACRO.test(v)) {
            return null;
        }
        return v;
    },

    required: function (params, name) {
        var v = SlaBridge.text(params, name);
        if (v === null) {
            throw 'parameter "' + name + '" is empty or an unexpanded macro';
        }
        return v;
    },

    id: function (params, name, needed) {
        var v = needed ? SlaBridge.required(params, name) : SlaBridge.text(params, name);
        if (v !== null && !/^[0-9]{1,20}$/.test(v)) {
            throw 'parameter "' + name + '" must be a numeric id, got "' + v + '"';
        }
        return v;
    },

    integer: function (params, name, allowed, fallback) {
        var v = SlaBridge.text(params, name);
        if (v === null) {
            if (fallback === undefined) {
                throw 'parameter "' + name + '" is required';
            }
            return fallback;
        }
        if (!/^[0-9]+$/.test(v) || allowed.indexOf(parseInt(v, 10)) === -1) {
            throw 'parameter "' + name + '" must be one of ' + allowed.join(', ') + ', got "' + v + '"';
        }
        return parseInt(v, 10);
    },

    time: function (params, name, needed) {
        var v = needed ? SlaBridge.required(params, name) : SlaBridge.text(params, name);
        if (v === null) {
            return null;
        }
        if (!/^[0-9]{1,11}$/.test(v)) {
            throw 'parameter "' + name + '" must be a Unix timestamp, got "' + v + '"';
        }
        // toISOString always yields UTC with a "Z": RFC 3339.
        return new Date(parseInt(v, 10) * 1000).toISOString();
    },

    tags: function (params) {
        var raw = SlaBridge.text(params, 'event_tags'),
            out = [],
            list, i;
        if (raw === null) {
            return out;
        }
        try {
            list = JSON.parse(raw);
        }
        catch (error) {
            throw 'parameter "event_tags" must be {EVENT.TAGSJSON} (a JSON array)';
        }
        if (!Array.isArray(list)) {
            throw 'parameter "event_tags" must be {EVENT.TAGSJSON} (a JSON array)';
        }
        for (i = 0; i < list.length; i++) {
            if (list[i] && typeof list[i].tag === 'string' && list[i].tag !== '') {
                out.push({tag: list[i].tag, value: typeof list[i].value === 'string' ? list[i].value : ''});
            }
        }
        return out;
    },

    build: function (params) {
        var body = {version: '1'},
            optional = ['event_name', 'event_opdata', 'trigger_description', 'host_visible_name',
                'host_ip', 'update_action', 'update_message', 'update_user', 'zabbix_url'],
            ack, i, v;

        body.event_source = SlaBridge.integer(params, 'event_source', [0, 3], 0);
        body.event_id = SlaBridge.id(params, 'event_id', true);
        body.event_value = SlaBridge.integer(params, 'event_value', [0, 1]);
        body.event_update_status = SlaBridge.integer(params, 'event_update_status', [0, 1], 0);
        body.severity = SlaBridge.integer(params, 'event_nseverity', [0, 1, 2, 3, 4, 5]);
        body.event_time = SlaBridge.time(params, 'event_timestamp', true);
        body.trigger_id = SlaBridge.id(params, 'trigger_id', body.event_source === 0);
        body.trigger_name = SlaBridge.required(params, 'trigger_name');
        body.host_name = SlaBridge.required(params, 'host_name');
        body.tags = SlaBridge.tags(params);

        ack = SlaBridge.text(params, 'event_ack');
        if (ack !== null) {
            body.event_ack = (ack === 'Yes' || ack === '1');
        }
        if (body.event_value === 0) {
            body.recovery_event_id = SlaBridge.id(params, 'recovery_event_id', false);
            body.recovery_time = SlaBridge.time(params, 'recovery_timestamp', true);
        }
        if (body.event_update_status === 1) {
            body.update_time = SlaBridge.time(params, 'update_timestamp', false);
        }
        for (i = 0; i < optional.length; i++) {
            v = SlaBridge.text(params, optional[i]);
            if (v !== null) {
                body[optional[i]] = v;
            }
        }
        for (v in body) {
            if (body.hasOwnProperty(v) && body[v] === null) {
                delete body[v];
            }
        }
        return body;
    },

    send: function (url, token, body) {
        var req = new HttpRequest(),
            resp, status;

        req.addHeader('Content-Type: application/json');
        req.addHeader('Authorization: Bearer ' + token);
        Zabbix.log(4, '[slabridge webhook] POST ' + url + ' event ' + body.event_id);
        resp = req.post(url, JSON.stringify(body));
        status = req.getStatus();
        if (status < 200 || status >= 300) {
            throw 'slabridge answered HTTP ' + status + ': ' + String(resp).substring(0, 200);
        }
        return status;
    }
};

try {
    var params = JSON.parse(value),
        url = SlaBridge.required(params, 'slabridge_url'),
        token = SlaBridge.required(params, 'slabridge_token'),
        body;

    if (!/^https?:\/\/[^\s\/?#]+(\/[^\s]*)?$/.test(url)) {
        throw 'parameter "slabridge_url" must be an http:// or https:// URL';
    }
    body = SlaBridge.build(params);
    SlaBridge.send(url, token, body);
    return 'OK';
}
catch (error) {
    Zabbix.log(3, '[slabridge webhook] notification failed: ' + error);
    throw 'slabridge notification failed: ' + error;
}
