import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { devicePassword } from '../../src/mqtt/credentials.ts';

/** An ISO time `s` seconds ago. */
export const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

/** A broker devices sign in to, and the secret their passwords derive from: a VwApp, or a broker and its secret. */
export interface DeviceBroker {
  mqttUrl: string;
  deviceSecret: string | undefined;
}

/** How a device signs in, as on Mosquitto: client id = username = device id, password derived from the secret. */
export function deviceSignIn(broker: DeviceBroker, deviceId: string): IClientOptions {
  if (!broker.deviceSecret) throw new Error('no device secret: is the embedded broker running here?');
  return { clientId: deviceId, username: deviceId, password: devicePassword(broker.deviceSecret, deviceId), protocolVersion: 4, reconnectPeriod: 0 };
}

/** A device connected to the broker, signed in as itself. */
export async function connectDevice(broker: DeviceBroker, deviceId: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(broker.mqttUrl, { ...deviceSignIn(broker, deviceId), ...options });
}

/** One message from a device of the embedded broker, signed in as itself, then gone. */
export async function publishAs(broker: DeviceBroker, deviceId: string, payload: unknown): Promise<void> {
  const client = await connectDevice(broker, deviceId);
  try {
    await client.publishAsync(`vw/v1/devices/${deviceId}/readings`, JSON.stringify(payload), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

/** Readings that give the demo's pt-0002 a NEWS2 of 12: a high alert offering 999, SDEC/ED and urgent community response. */
export async function deterioratePt0002(broker: DeviceBroker): Promise<void> {
  await publishAs(broker, 'app-0002', [
    { type: 'respiratory_rate', value: 27, unit: '/min', ts: ago(20) },
    { type: 'consciousness', value: 'A', ts: ago(20) },
    { type: 'supplemental_oxygen', value: false, ts: ago(20) },
  ]);
  await publishAs(broker, 'oxi-0002', { measurement: 'pulse_oximetry', time: ago(15), spo2: 90, pulseRate: 126 });
  await publishAs(broker, 'bp-0002', { measurement: 'blood_pressure', time: ago(12), systolic: 96, diastolic: 58, pulse: 125 });
  await publishAs(broker, 'temp-0002', { measurement: 'body_temperature', time: ago(10), temperature: 39.3, unit: 'C' });
}

/** An admission, discharge or transfer through the flow API, with a console token. */
export async function postFlow(httpUrl: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/api/v1/flow`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
