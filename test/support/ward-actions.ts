import mqtt from 'mqtt';

/** An ISO time `s` seconds ago. */
export const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

/** One message from a device of the embedded broker, signed in as itself, then gone. */
export async function publishAs(mqttUrl: string, deviceId: string, payload: unknown): Promise<void> {
  const client = await mqtt.connectAsync(mqttUrl, { clientId: deviceId, protocolVersion: 4, reconnectPeriod: 0 });
  try {
    await client.publishAsync(`vw/v1/devices/${deviceId}/readings`, JSON.stringify(payload), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

/** Readings that give the demo's pt-0002 a NEWS2 of 12: a high alert offering 999, SDEC/ED and urgent community response. */
export async function deterioratePt0002(mqttUrl: string): Promise<void> {
  await publishAs(mqttUrl, 'app-0002', [
    { type: 'respiratory_rate', value: 27, unit: '/min', ts: ago(20) },
    { type: 'consciousness', value: 'A', ts: ago(20) },
    { type: 'supplemental_oxygen', value: false, ts: ago(20) },
  ]);
  await publishAs(mqttUrl, 'oxi-0002', { measurement: 'pulse_oximetry', time: ago(15), spo2: 90, pulseRate: 126 });
  await publishAs(mqttUrl, 'bp-0002', { measurement: 'blood_pressure', time: ago(12), systolic: 96, diastolic: 58, pulse: 125 });
  await publishAs(mqttUrl, 'temp-0002', { measurement: 'body_temperature', time: ago(10), temperature: 39.3, unit: 'C' });
}

/** An admission, discharge or transfer through the flow API, with a console token. */
export async function postFlow(httpUrl: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/api/v1/flow`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
